package report

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Filter selects sessions for every output. Each field that is set must match; within a field,
// any of its values may. The zero Filter selects every session.
type Filter struct {
	Sessions []int64       // session numbers
	Clients  []AddrPattern // the client's address
	Servers  []AddrPattern // the server's address
	From     []string      // an address pattern (see MatchAddress) that a MAIL FROM matches
	Rcpt     []string      // an address pattern that a RCPT TO matches
	AuthUser []string      // the AUTH user name, or a glob of it
	Failed   bool          // sessions with a failure (see Failed)
}

// AddrPattern is an address, a CIDR prefix or an address with a port, as --client and
// --server take them.
type AddrPattern struct {
	Prefix netip.Prefix
	Port   uint16 // 0: any
}

// ParseAddrPattern reads "192.0.2.1", "2001:db8::/32", "192.0.2.1:25" or "[2001:db8::1]:25".
func ParseAddrPattern(s string) (AddrPattern, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		// Sessions carry IPv4 addresses unmapped: so does a prefix of ::ffff:0:0/96.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return AddrPattern{Prefix: p.Masked()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return AddrPattern{Prefix: netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())}, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 {
		a := ap.Addr().Unmap()
		return AddrPattern{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: ap.Port()}, nil
	}
	return AddrPattern{}, fmt.Errorf("%q is not an address, a CIDR prefix or address:port", s)
}

// Match reports whether ap matches the pattern.
func (p AddrPattern) Match(ap netip.AddrPort) bool {
	return p.Prefix.Contains(ap.Addr().Unmap()) && (p.Port == 0 || p.Port == ap.Port())
}

// Empty reports whether f selects every session.
func (f *Filter) Empty() bool {
	return len(f.Sessions) == 0 && len(f.Clients) == 0 && len(f.Servers) == 0 &&
		len(f.From) == 0 && len(f.Rcpt) == 0 && len(f.AuthUser) == 0 && !f.Failed
}

// Match reports whether f selects s.
func (f *Filter) Match(s *smtpdecode.Session) bool {
	if len(f.Sessions) > 0 && !slices.Contains(f.Sessions, s.ID) {
		return false
	}
	if len(f.Clients) > 0 && !slices.ContainsFunc(f.Clients, func(p AddrPattern) bool { return p.Match(s.Client) }) {
		return false
	}
	if len(f.Servers) > 0 && !slices.ContainsFunc(f.Servers, func(p AddrPattern) bool { return p.Match(s.Server) }) {
		return false
	}
	if len(f.From) > 0 && !slices.ContainsFunc(s.Transactions, func(tx smtpdecode.Transaction) bool {
		return matchAny(f.From, tx.MailFrom)
	}) {
		return false
	}
	if len(f.Rcpt) > 0 && !slices.ContainsFunc(s.Transactions, func(tx smtpdecode.Transaction) bool {
		return slices.ContainsFunc(tx.Rcpts, func(r smtpdecode.Recipient) bool { return matchAny(f.Rcpt, r.Address) })
	}) {
		return false
	}
	if len(f.AuthUser) > 0 {
		if s.Auth == nil || s.Auth.Username == "" || !slices.ContainsFunc(f.AuthUser, func(p string) bool {
			return matchGlob(p, s.Auth.Username)
		}) {
			return false
		}
	}
	return !f.Failed || Failed(s)
}

// MatchMessage reports whether f may select the session s as one of its messages begins:
// what is known by then must match (the session, its addresses and AUTH so far, the envelope
// of transaction tx, 1-based); Failed is not known yet and is not checked.
func (f *Filter) MatchMessage(s *smtpdecode.Session, tx int) bool {
	g := *f
	g.Failed = false
	if tx < 1 || tx > len(s.Transactions) {
		return g.Match(s)
	}
	one := *s
	one.Transactions = s.Transactions[tx-1 : tx]
	return g.Match(&one)
}

func matchAny(patterns []string, addr string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return MatchAddress(p, addr) })
}

// MatchAddress reports whether a mail address matches a pattern, ignoring case:
//   - "<>" or "" matches the null reverse-path;
//   - a pattern with * or ? is a glob of the whole address ("*@example.*");
//   - a pattern with an @ is the whole address ("alice@example.com", angle brackets optional);
//   - otherwise it is a domain, "@example.com" or "example.com", which also matches its
//     subdomains ("mx.example.com").
func MatchAddress(pattern, addr string) bool {
	pattern = strings.TrimSuffix(strings.TrimPrefix(pattern, "<"), ">")
	if pattern == "" {
		return addr == ""
	}
	if strings.ContainsAny(pattern, "*?[") {
		return matchGlob(pattern, addr)
	}
	if !strings.HasPrefix(pattern, "@") && strings.Contains(pattern, "@") {
		return strings.EqualFold(pattern, addr)
	}
	domain := strings.TrimPrefix(pattern, "@")
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	d := addr[at+1:]
	return strings.EqualFold(d, domain) ||
		len(d) > len(domain) && d[len(d)-len(domain)-1] == '.' && strings.EqualFold(d[len(d)-len(domain):], domain)
}

// matchGlob matches a glob (* ? [..]; / is an ordinary character) against s, ignoring case;
// without glob characters it is an exact comparison.
func matchGlob(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return strings.EqualFold(pattern, s)
	}
	// path.Match treats / as a separator that * does not cross: swap it for a byte that
	// cannot be typed in either.
	const slash = "\x00"
	ok, err := path.Match(strings.ReplaceAll(strings.ToLower(pattern), "/", slash), strings.ReplaceAll(strings.ToLower(s), "/", slash))
	return err == nil && ok
}

// ValidGlob reports whether a --from, --rcpt or --auth-user pattern is well formed.
func ValidGlob(pattern string) error {
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("%q: bad pattern", pattern)
	}
	return nil
}
