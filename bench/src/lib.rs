//! ringkeeper-bench.
