//! Every bound the engine enforces, as a named constant.

/// Default `jute.maxbuffer`: the largest frame either side accepts (0xfffff).
pub const JUTE_MAXBUFFER_DEFAULT: usize = 0xfffff;

/// Largest TTL a TTL znode may carry: 2^40 - 1 ms (EphemeralType.MAX_EXTENDED_SERVER_ID rules).
pub const TTL_MAX_MS: i64 = (1 << 40) - 1;

/// Stored ephemeral owner marking a container znode.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;

/// Top byte of a stored ephemeral owner marking a TTL znode; the low 40 bits hold the TTL.
pub const TTL_OWNER_MASK: i64 = 0xFF00_0000_0000_0000_u64 as i64;

/// ZooKeeper's `superSecret`, mixed into the session id to seed the password generator.
pub const SESSION_PASSWORD_SECRET: i64 = 0xB341_5C00;

/// Length of a session password.
pub const SESSION_PASSWORD_LEN: usize = 16;

/// The largest `jute.maxbuffer` a server accepts. A txn is at most a little larger than the
/// request it comes from (its paths, data and ACLs are the request's), and the write-ahead log
/// takes records of up to 64 MiB, so a request of this size always fits one record with room
/// to spare; the server asserts the relation at compile time.
pub const JUTE_MAXBUFFER_MAX: usize = 16 << 20;

/// Default largest reply (`ringkeeper.maxReplyBytes`).
pub const MAX_REPLY_BYTES_DEFAULT: usize = 16 << 20;
