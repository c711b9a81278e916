//! Transactions: prep (request to txn) and apply (txn to tree change and watch events).
pub mod apply;
pub mod prep;
mod types;
pub use apply::{apply, Applied, Events};
pub use types::{Data, Txn, TxnBody};
