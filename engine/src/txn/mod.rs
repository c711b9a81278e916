//! Transactions: prep (request to txn) and apply (txn to tree change and watch events).
mod types;
pub use types::{Txn, TxnBody};
