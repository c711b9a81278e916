//! Primitive jute encoding: big-endian ints and longs, length-prefixed buffers, strings and
//! vectors, with -1 as null (ZK-PROTOCOL.md section 3).
// (filled in by the codec work)
