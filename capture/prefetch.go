package capture

import (
	"io"
	"sync"
)

// prefetcher reads its source ahead on a goroutine of its own, in blocks, so
// that the reads (system calls, a pipe, gzip decompression) run beside the
// decoding of what was read before. At most prefetchBlocks blocks wait.
type prefetcher struct {
	full  chan readBlock
	free  chan []byte
	stop  chan struct{}
	once  sync.Once
	cur   readBlock
	spent []byte // the block cur came in, to give back
}

// readBlock is one read: its bytes and the error that ended the source after them.
type readBlock struct {
	b   []byte
	err error
}

const (
	prefetchBlock  = 256 << 10
	prefetchBlocks = 4
)

func newPrefetcher(src io.Reader) *prefetcher {
	p := &prefetcher{
		full: make(chan readBlock, prefetchBlocks),
		free: make(chan []byte, prefetchBlocks+1),
		stop: make(chan struct{}),
	}
	go p.run(src)
	return p
}

func (p *prefetcher) run(src io.Reader) {
	made := 0 // blocks are made as needed: a short input costs one
	for {
		select {
		case <-p.stop:
			return // Close: not read again
		default:
		}
		var buf []byte
		select {
		case buf = <-p.free:
		default:
			if made <= prefetchBlocks {
				made++
				buf = make([]byte, prefetchBlock)
				break
			}
			select {
			case buf = <-p.free:
			case <-p.stop:
				return
			}
		}
		// One read per block: a pipe gives what it has at once, and the
		// decoder should get it (tcpdump -U -w - | smtpscope -r -).
		var n int
		var err error
		for n == 0 && err == nil {
			n, err = src.Read(buf)
		}
		select {
		case p.full <- readBlock{buf[:n], err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read gives the bytes read ahead, then the source's error (io.EOF at its end).
func (p *prefetcher) Read(b []byte) (int, error) {
	for len(p.cur.b) == 0 {
		if p.cur.err != nil {
			return 0, p.cur.err
		}
		if p.spent != nil {
			p.free <- p.spent[:cap(p.spent)] // never blocks: free holds every block
			p.spent = nil
		}
		select {
		case p.cur = <-p.full:
		case <-p.stop:
			return 0, ErrClosed
		}
		p.spent = p.cur.b
	}
	n := copy(b, p.cur.b)
	p.cur.b = p.cur.b[n:]
	return n, nil
}

// Close stops the reading ahead; the source is left to its owner.
func (p *prefetcher) Close() {
	p.once.Do(func() { close(p.stop) })
}
