//! The runtime of [`delayed`](https://docs.rs/delayed): the task graph, its blake3 keys, and
//! the deduplicating parallel scheduler.
//!
//! Most users depend on the `delayed` crate, which re-exports this one together with the
//! `#[delayed]` attribute and the `delay!` macro. This crate can be used on its own for
//! graphs built from [`value`], operators, [`Delayed::map`] and [`collect`]:
//!
//! ```
//! use delayed_runtime::{compute, value};
//!
//! let text = value(String::from("12345"));
//! let ones = value(vec![1usize; 5]);
//! let total = text.map(|s| s.len()) + ones.get(3);
//! assert_eq!(total.compute().unwrap(), 6);
//!
//! let (a, b) = compute((&total, total.map(|t| t * 2))).unwrap();
//! assert_eq!((a, b), (6, 12));
//! ```
//!
//! Where things live: [`Delayed`] and [`value`] in `delayed.rs`, the nodes in `node.rs`,
//! keys in `key.rs` and `tokenize.rs`, building a task in `call.rs`, argument conversion in
//! `arg.rs`, operators in `ops.rs`, the scheduler in `scheduler/`, errors in `error.rs`.

#![warn(missing_docs)]

mod arg;
mod call;
mod compute;
mod delayed;
mod error;
mod inputs;
mod key;
mod node;
mod ops;
mod scheduler;
mod tokenize;
mod unpack;

#[doc(hidden)]
pub mod private;

pub use arg::IntoArg;
pub use compute::{collect, compute, compute_with, Computable};
pub use delayed::{value, Delayed};
pub use error::Error;
pub use key::{Key, KeyHasher};
pub use node::NodeKind;
pub use scheduler::Scheduler;
pub use tokenize::Tokenize;
