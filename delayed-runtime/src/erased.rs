//! The two type-erased types everything else passes around: a computed value and a
//! task's error. They depend on nothing in the crate, so every module can use them.

use std::any::Any;
use std::sync::Arc;

/// A computed value, type-erased (public only for generated code). Results are shared
/// between the consumers of a node and moved out of the `Arc` by the last one.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// The error type a task body may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
