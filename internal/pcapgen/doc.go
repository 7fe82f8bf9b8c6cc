// Package pcapgen writes synthetic packet captures of TCP traffic for tests.
//
// Real capture software rarely produces the edge cases a capture reader has
// to survive, so tests build them here: TCP segments that are reordered,
// duplicated, overlapping or lost, connections that start without a SYN,
// IPv6, VLAN and QinQ tags, several link types, IPv4 fragments, classic pcap
// in either byte order with micro- or nanosecond timestamps, pcapng with
// several sections and interfaces of different link types, gzip-compressed
// and truncated files, and packets cut by a snap length.
//
// A Conn produces the segments of one connection with consistent sequence
// numbers and times; IPPacket, Frame and Segment.Packet turn segments into
// bytes on the wire; WritePcap and WritePcapng write them to a file.
// Building a frame costs one allocation, and none with Segment.AppendFrame
// or a PcapWriter, which writes a pcap file one segment at a time, building
// each frame in its buffer: the package also feeds benchmarks with captures
// of many gigabytes (internal/benchgen).
//
// Functions given malformed input (mixed address families, an unknown link
// type, a payload too large for one IP packet) panic: they are meant for
// tests, where such input is a bug in the test.
package pcapgen
