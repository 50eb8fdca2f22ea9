//! Building nodes: a task from its function identity and inputs (key) and its body, or
//! data from a value (`value`).
//!
//! Everything that creates a task (`#[delayed]` functions, `delay!`, `map`, operators,
//! `get`, `unpack`, `collect`) goes through [`Call`], so keys are made one way only.

use std::borrow::Cow;
use std::sync::Arc;

use crate::codec::{codec_of, Cacheable, Codec};
use crate::erased::{AnyValue, BoxError};
use crate::graph::arg::{Arg, ArgInner, GraphValue};
use crate::graph::delayed::Delayed;
use crate::graph::names::{intern, type_display_name};
use crate::graph::node::{
    Body, Input, InputList, Inputs, Node, Origin, RemoteOp, Role, Scope, TaskFn,
};
use crate::graph::remote::{codec_of_type, erased};
pub use crate::key::keying::FnId;
use crate::key::keying::{Keying, Made};
use crate::key::tokenize::{write_typed, Tokenize};
use crate::key::KeyHasher;

/// A task under construction. Arguments are added in parameter order; [`finish`]
/// attaches the body and returns the handle.
///
/// [`finish`]: Call::finish
pub struct Call {
    /// How the key is being built (see `keying.rs`).
    keying: Keying,
    name: &'static str,
    inputs: InputList,
    codec: Option<&'static Codec>,
    remote: Option<&'static RemoteOp>,
    /// The narrowest scope of the identity and the inputs so far.
    scope: Scope,
    role: Role,
}

impl Call {
    /// A pure call of a function with a static identity.
    pub fn new(id: &'static FnId) -> Call {
        Call {
            keying: Keying::of(id),
            name: id.name(),
            inputs: InputList::Zero,
            codec: None,
            remote: None,
            scope: Scope::Portable,
            role: Role::Plain,
        }
    }

    /// A call of code the macros cannot see whole (`delay!` of a path or closure, `map`),
    /// identified by `identity` (a type name) and whatever is added next: its key holds
    /// for this executable only ([`Scope::Build`]), since the code behind the name can
    /// change while the name stays.
    pub(crate) fn dynamic(identity: &str, name: impl Into<Cow<'static, str>>) -> Call {
        Call {
            keying: Keying::dynamic(identity),
            name: intern(name.into()),
            inputs: InputList::Zero,
            codec: None,
            remote: None,
            scope: Scope::Build,
            role: Role::Plain,
        }
    }

    /// Makes this call impure: it gets a fresh key, never equal to another call's.
    pub fn impure(mut self) -> Call {
        self.keying = Keying::Fresh;
        self.scope = Scope::Process;
        self
    }

    /// Adds `F`'s `TypeId` to the identity: the only thing that tells apart two closures
    /// with one type name (every closure of a function prints as `…::{{closure}}`) when
    /// neither call site nor tokens are known. A `TypeId` is not stable across builds, so
    /// the key becomes [`Scope::Process`]: it never reaches the on-disk cache.
    pub(crate) fn with_type_id<F: 'static>(mut self) -> Call {
        use std::hash::Hash;
        struct Feed<'a>(&'a mut KeyHasher);
        impl std::hash::Hasher for Feed<'_> {
            fn write(&mut self, bytes: &[u8]) {
                self.0.write_bytes(bytes);
            }
            fn finish(&self) -> u64 {
                0
            }
        }
        if let Some(h) = self.keying.stream(&self.inputs) {
            std::any::TypeId::of::<F>().hash(&mut Feed(h));
        }
        self.scope = Scope::Process;
        self
    }

    /// Marks the crate's own `collect` node.
    pub(crate) fn collect_role(mut self) -> Call {
        self.role = Role::Collect;
        self
    }

    /// Lets a [`Cache`](crate::Cache) keep this call's result across runs
    /// (`#[delayed(cache)]`). Ignored for impure calls.
    pub fn cached<R: Cacheable>(mut self) -> Call {
        self.codec = Some(codec_of::<R>());
        self
    }

    /// Lets another process run this call (feature `dask`): `op` is the same body,
    /// with the codecs of its parameters and result. Generated code passes the
    /// function's own op; other bodies without captures get one in [`finish`](Call::finish).
    pub fn remote(mut self, op: &'static RemoteOp) -> Call {
        self.remote = Some(op);
        self
    }

    /// Sets the display name.
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Call {
        self.name = intern(name.into());
        self
    }

    /// Adds a type to the identity (a generic parameter, `Self`).
    pub fn with_type<T: ?Sized>(mut self) -> Call {
        if let Some(h) = self.keying.stream(&self.inputs) {
            h.write_str(std::any::type_name::<T>());
        }
        self
    }

    /// Adds a string to the identity: one the code fixes (a call-site location, a type's
    /// name). A call over inputs only keeps a shape per distinct identity for the life of
    /// the process, so a value known only at run time belongs in
    /// [`with_value`](Call::with_value).
    pub fn with_str(mut self, s: &str) -> Call {
        if let Some(h) = self.keying.stream(&self.inputs) {
            h.write_str(s);
        }
        self
    }

    /// Adds a plain value to the identity by content.
    pub fn with_value<T: Tokenize + ?Sized>(mut self, value: &T) -> Call {
        self.keying.named_a_value(&self.inputs);
        if let Some(h) = self.keying.stream(&self.inputs) {
            write_typed(value, h);
        }
        self
    }

    /// Adds the next argument.
    pub fn arg<T: GraphValue>(&mut self, arg: Arg<T>) {
        match arg.inner {
            ArgInner::Node(node) => self.node_arg(node),
            ArgInner::Value { value, write } => {
                self.keying.value(&value, write, &self.inputs);
                self.inputs.push(Input::Const(Arc::new(value)));
            }
        }
    }

    /// Adds a constant input that is not part of the key (the caller has put it in the
    /// identity already, `with_value`): it lets the body read it instead of capturing it,
    /// so the body stays code only (see [`finish`](Call::finish)).
    pub(crate) fn unkeyed_value<T: Send + Sync + 'static>(&mut self, value: T) {
        self.inputs.push(Input::Const(Arc::new(value)));
    }

    pub(crate) fn node_arg(&mut self, node: Arc<Node>) {
        self.scope = self.scope.min(node.scope());
        self.keying.node(&node, self.inputs.len(), &self.inputs);
        self.inputs.push(Input::Node(node));
    }

    /// Attaches the body and builds the node. The body reads the arguments in the order
    /// they were added, through [`Inputs`].
    pub fn finish<R, F>(mut self, body: F) -> Delayed<R>
    where
        R: GraphValue,
        F: Fn(&mut Inputs<'_>) -> Result<R, BoxError> + Send + Sync + 'static,
    {
        let made = self.keying.finish(self.name, &self.inputs);
        let codec = match self.keying {
            // Never cached (process scope): the codec says how its result crosses to a
            // cluster when this body, which has captures, runs here.
            Keying::Fresh => codec_of_type::<R>(),
            _ => self.codec,
        };
        // A body without captures is all code: another process of this build can run it.
        let remote = match self.remote {
            None if std::mem::size_of::<F>() == 0 => Some(erased::<F, R>()),
            op => op,
        };
        let body = move |inputs: &mut Inputs<'_>| body(inputs).map(|r| Arc::new(r) as AnyValue);
        let body: Box<TaskFn> = Box::new(body);
        let origin = Origin {
            name: self.name,
            codec,
            remote,
            shape: None,
        };
        let node = match made {
            Made::Key(key) => Node::keyed(key, origin, self.scope, self.inputs, Body::Task(body)),
            Made::OnDemand(shape) => Node::lazy(shape, None, origin, self.scope, self.inputs, body),
            Made::Held(shape, held) => {
                Node::lazy(shape, Some(held), origin, self.scope, self.inputs, body)
            }
        };
        let node = node.with_role(self.role);
        Delayed::from_node(Arc::new(node))
    }
}

/// Adds a callable's identity to a call whose code the macros did not see (`map`, and
/// `delay!` of a path): its type name tells fn items apart (and keeps the key valid for
/// this build); a closure's type name is shared by every closure of its function, so its
/// `TypeId` is added too. A callable with captures (not zero-sized) makes the call
/// impure: its captures are not hashed.
pub(crate) fn identify<F: 'static>(mut call: Call) -> Call {
    let name = std::any::type_name::<F>();
    call = call.with_str(name);
    if name.contains("{{closure}}") || name.contains("{closure") {
        call = call.with_type_id::<F>();
    }
    if std::mem::size_of::<F>() != 0 {
        call = call.impure();
    }
    call
}

/// Wraps a plain value as delayed data (dask's `delayed(obj)`), keyed by its type and
/// content: equal values give equal keys, in every run.
///
/// ```
/// use delayed::value;
/// let s = value(String::from("12345"));
/// assert_eq!(s.key(), value(String::from("12345")).key());
/// assert_eq!(s.map(|s| s.len()).compute().unwrap(), 5);
/// ```
pub fn value<T: Tokenize + Send + Sync + 'static>(value: T) -> Delayed<T> {
    data_node(value)
}

/// A data node: a value held by the graph, keyed by its type and content.
fn data_node<T: Tokenize + Send + Sync + 'static>(value: T) -> Delayed<T> {
    let mut h = KeyHasher::new("delayed.value");
    write_typed(&value, &mut h);
    let key = h.finish();
    let name = type_display_name::<T>();
    let body = Body::data(Arc::new(value));
    let node = Node::new(key, name, Scope::Portable, InputList::Zero, body);
    // Its codec, for a cluster: what the type's `Tokenize` knows (the derive finds serde).
    Delayed::from_node(Arc::new(node.with_codec(T::__codec())))
}

/// A data node standing for `like`'s result: a persisted result keeps the key, scope,
/// name and planner digest of its task.
pub(crate) fn keyed_data<T: Send + Sync + 'static>(like: &Node, value: AnyValue) -> Delayed<T> {
    let body = Body::data(value);
    let node = Node::new(like.key(), like.name(), like.scope(), InputList::Zero, body);
    Delayed::from_node(Arc::new(node.with_digest_of(like)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_compression_keys_tell_shapes_apart() {
        static F: FnId = FnId::new("t::f", "f", "");
        let call = |args: Vec<Arg<i64>>| {
            let mut call = Call::new(&F);
            for a in args {
                call.arg(a);
            }
            assert!(matches!(call.keying, Keying::Fast(_)) == (call.inputs.len() <= 2));
            call.finish(|_| Ok(0i64)).key()
        };
        let node = || Arg::<i64>::node(value(1i64).node);
        let a = call(vec![node(), Arg::value(2)]);
        assert_eq!(a, call(vec![node(), Arg::value(2)]));
        let keys = [
            a,
            call(vec![Arg::value(2), node()]),
            call(vec![node(), node()]),
            call(vec![Arg::value(1), Arg::value(2)]),
            call(vec![node()]),
            call(vec![Arg::value(1)]),
            call(vec![]),
            call(vec![node(), Arg::value(2), Arg::value(3)]),
        ];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
        // A call over inputs only is keyed on demand, with the one-compression bytes.
        let (x, y) = (node(), Arg::<i64>::node(value(2i64).node));
        let (kx, ky) = match (&x.inner, &y.inner) {
            (ArgInner::Node(x), ArgInner::Node(y)) => (x.key(), y.key()),
            _ => unreachable!(),
        };
        let mut both = Call::new(&F);
        both.arg(x);
        both.arg(y);
        let both = both.finish(|_| Ok(0i64));
        assert!(!both.node.is_keyed(), "not keyed when built");
        let mut bytes = kx.as_bytes().to_vec();
        bytes.extend_from_slice(ky.as_bytes());
        let expected = blake3::keyed_hash(F.shape_key(2, 0).as_bytes(), &bytes);
        assert_eq!(both.key().as_bytes(), expected.as_bytes());
        // A call over plain values only holds them and makes its key at every ask.
        let mut leaf = Call::new(&F);
        leaf.arg(Arg::value(1i64));
        let leaf = leaf.finish(|_| Ok(0i64));
        assert!(!leaf.node.is_keyed(), "not keyed when built");
        let mut bytes = KeyHasher::gather();
        bytes.write_str("i64");
        bytes.write_raw(&1i64.to_le_bytes());
        let bytes = bytes.since(0).unwrap_or_default();
        let expected = blake3::keyed_hash(F.shape_key(1, 1).as_bytes(), bytes);
        assert_eq!(leaf.key().as_bytes(), expected.as_bytes());
        assert_eq!(leaf.key(), keys[5]);
        // A call of the stream over inputs only: keyed on demand under its identity's
        // shape, apart from the same call under another identity.
        let over = |ty: &dyn Fn(Call) -> Call| {
            let mut call = ty(Call::new(&F));
            call.arg(Arg::<i64>::node(value(1i64).node));
            call.arg(Arg::<i64>::node(value(2i64).node));
            call.arg(Arg::<i64>::node(value(3i64).node));
            call.finish(|_| Ok(0i64))
        };
        let (a, b) = (
            over(&|c| c.with_type::<u8>()),
            over(&|c| c.with_type::<u16>()),
        );
        assert!(!a.node.is_keyed() && !b.node.is_keyed());
        assert_ne!(a.key(), b.key());
        assert_eq!(a.key(), over(&|c| c.with_type::<u8>()).key());
        let three = over(&|c| c);
        assert!(
            !three.node.is_keyed(),
            "three inputs: the stream, on demand"
        );
        assert_ne!(three.key(), a.key());
        // A value in the identity (a const generic): keyed when built, never a kept shape.
        let mut valued = Call::new(&F).with_value(&3usize);
        valued.arg(node());
        let valued = valued.finish(|_| Ok(0i64));
        assert!(valued.node.is_keyed(), "keyed when built");
        // A generic call (a type added to its identity) leaves the fast path.
        let mut generic = Call::new(&F).with_type::<u8>();
        generic.arg(Arg::value(1i64));
        assert!(matches!(generic.keying, Keying::Stream(_)));
        assert_ne!(generic.finish(|_| Ok(0i64)).key(), keys[5]);
    }
}
