//! Random programs, run lazily and eagerly.
//!
//! A random program is a list of up to ~2,000 steps over a small vocabulary: `value`,
//! `#[delayed]` functions (by value, by reference, `Vec<Delayed>` arguments, fallible,
//! impure), `delay!` of a closure and of a fn path, every operator, `map` at two call
//! sites, `get`, `unpack` and `collect`. Arguments are earlier steps (mostly recent ones,
//! so graphs are deep as well as wide) or small constants, and steps are often repeated
//! verbatim, so equal sub-expressions are built again and again as separate nodes.
//!
//! The same program is evaluated eagerly in plain Rust (the *model*), and the test checks:
//! - any subset of outputs, computed in one call or one by one, on `Scheduler::sync()`,
//!   `threads(1)` and `threads(4)`, equals the eager result;
//! - every distinct key runs exactly once per compute: each function counts its runs, and
//!   the count equals the number of distinct expressions of that function the outputs
//!   depend on;
//! - equal expressions have equal keys, and different expressions different keys;
//! - no value outlives its use: once results are dropped, only the values the graph
//!   itself holds (data and constant arguments) are alive, and none once it is dropped;
//! - with faults injected (tasks that return `Err`, panic with a string, or panic with a
//!   non-string payload), compute returns the error of a failing task that the outputs
//!   depend on, with the right kind, never hangs, never runs a task twice, leaks nothing,
//!   and the same program without the faults then computes correctly.
//!
//! The counters are global, so the tests of this file run one at a time (`SERIAL`).
//! Case counts: `PROPTEST_CASES` if set, else a small default; the `#[ignore]`d variants
//! use graphs of up to 2,000 steps and are run in release by `.ci/run`.

mod support;

use delayed::prelude::*;
use delayed::{Error, Key};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use std::collections::{HashMap, HashSet};
use std::ops::{Add, BitXor, Index, Mul, Neg, Not, Shl, Sub};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{LazyLock, Mutex, MutexGuard};
use support::watchdog;

const MOD: i64 = 1_000_003;

fn m(x: i64) -> i64 {
    x % MOD
}

// ---------------------------------------------------------------------------------------
// The vocabulary: value types that count their instances, functions that count their runs.

/// Which function ran. One counter per tag.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Tag {
    Value,
    Add,
    Mix,
    OpAdd,
    OpSub,
    OpMul,
    OpXor,
    OpShl,
    OpNeg,
    OpNot,
    Map1,
    Map2,
    Closure,
    PathFn,
    Spread,
    Get,
    Split,
    Field,
    Unw,
    Collect,
    Total,
    SumAll,
    Noisy,
    Fault,
}
const TAGS: usize = Tag::Fault as usize + 1;

/// Tags whose runs cannot be counted: data nodes do not run, and `collect` has no user code.
const UNCOUNTED: [Tag; 2] = [Tag::Value, Tag::Collect];

static RUNS: [AtomicUsize; TAGS] = [const { AtomicUsize::new(0) }; TAGS];
/// Live `V` and `W` instances.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The tests of this file share the counters above: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn bump(tag: Tag) {
    RUNS[tag as usize].fetch_add(1, SeqCst);
}

fn reset_runs() {
    for r in &RUNS {
        r.store(0, SeqCst);
    }
}

fn runs(tag: Tag) -> usize {
    RUNS[tag as usize].load(SeqCst)
}

/// The value type of the programs: an `i64` that counts its live instances, with
/// operators that count their runs and stay in `(-MOD, MOD)`.
#[derive(Tokenize, Debug)]
struct V {
    v: i64,
}

impl V {
    fn new(v: i64) -> V {
        LIVE.fetch_add(1, SeqCst);
        V { v }
    }
}

impl Clone for V {
    fn clone(&self) -> V {
        V::new(self.v)
    }
}

impl Drop for V {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, SeqCst);
    }
}

macro_rules! v_binop {
    ($($Trait:ident $method:ident $tag:ident $f:expr;)*) => {$(
        impl $Trait for V {
            type Output = V;
            fn $method(self, rhs: V) -> V {
                bump(Tag::$tag);
                V::new($f(self.v, rhs.v))
            }
        }
    )*};
}

fn e_add(a: i64, b: i64) -> i64 {
    m(a + b)
}
fn e_sub(a: i64, b: i64) -> i64 {
    m(a - b)
}
fn e_mul(a: i64, b: i64) -> i64 {
    m(a * b)
}
fn e_xor(a: i64, b: i64) -> i64 {
    m(a ^ b)
}

v_binop! {
    Add add OpAdd e_add;
    Sub sub OpSub e_sub;
    Mul mul OpMul e_mul;
    BitXor bitxor OpXor e_xor;
}

impl Shl<u32> for V {
    type Output = V;
    fn shl(self, k: u32) -> V {
        bump(Tag::OpShl);
        V::new(m(self.v << k))
    }
}

impl Neg for V {
    type Output = V;
    fn neg(self) -> V {
        bump(Tag::OpNeg);
        V::new(-self.v)
    }
}

impl Not for V {
    type Output = V;
    fn not(self) -> V {
        bump(Tag::OpNot);
        V::new(m(!self.v))
    }
}

/// A container read by `get`: its `Index` counts the runs of `get` tasks.
struct Bag(Vec<V>);

impl Index<usize> for Bag {
    type Output = V;
    fn index(&self, i: usize) -> &V {
        bump(Tag::Get);
        &self.0[i]
    }
}

/// A tuple field: only `unpack` clones it (its consumers borrow), so its clones count the
/// runs of `unpack` field tasks.
struct W(i64);

impl W {
    fn new(v: i64) -> W {
        LIVE.fetch_add(1, SeqCst);
        W(v)
    }
}

impl Clone for W {
    fn clone(&self) -> W {
        bump(Tag::Field);
        W::new(self.0)
    }
}

impl Drop for W {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, SeqCst);
    }
}

#[derive(Debug)]
struct Boom(i64);

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "boom at {}", self.0)
    }
}

impl std::error::Error for Boom {}

/// A panic payload that is not a string.
struct NotAString(#[allow(dead_code)] i64);

fn e_mix(a: i64, b: i64, k: i64) -> i64 {
    m(a * 3 + b * 5 + k)
}
fn e_fn_add(a: i64, b: i64) -> i64 {
    m(2 * a + b)
}
fn e_map1(v: i64) -> i64 {
    m(v * 7 + 3)
}
fn e_map2(v: i64) -> i64 {
    m(v * v)
}
fn e_closure(a: i64, b: i64) -> i64 {
    m(a * 31 - b)
}
fn e_path(a: i64, b: i64) -> i64 {
    m(a - 2 * b)
}
fn e_spread(a: i64) -> Vec<i64> {
    vec![a, m(a + 1), m(a * 2), -a]
}
fn e_split(a: i64) -> (i64, i64) {
    (a % 97, a / 97)
}
fn e_unw(w: i64, k: i64) -> i64 {
    m(w + k)
}
fn e_sum(xs: &[i64]) -> i64 {
    m(xs.iter().sum::<i64>())
}
fn e_sum_all(xs: &[i64]) -> i64 {
    m(xs.iter().enumerate().map(|(i, x)| x * (i as i64 + 1)).sum())
}
fn e_noisy(a: i64) -> i64 {
    m(a + 1)
}

#[delayed]
fn add(a: V, b: V) -> V {
    bump(Tag::Add);
    V::new(e_fn_add(a.v, b.v))
}

#[delayed]
fn mix(a: &V, b: V, k: i64) -> V {
    bump(Tag::Mix);
    V::new(e_mix(a.v, b.v, k))
}

/// Wrapped with `delay!` by path: not itself `#[delayed]`.
fn combine(a: V, b: V) -> V {
    bump(Tag::PathFn);
    V::new(e_path(a.v, b.v))
}

#[delayed]
fn spread(a: &V) -> Bag {
    bump(Tag::Spread);
    Bag(e_spread(a.v).into_iter().map(V::new).collect())
}

#[delayed]
fn split(a: V) -> (W, W) {
    bump(Tag::Split);
    let (x, y) = e_split(a.v);
    (W::new(x), W::new(y))
}

#[delayed]
fn unw(w: &W, k: i64) -> V {
    bump(Tag::Unw);
    V::new(e_unw(w.0, k))
}

#[delayed]
fn total(xs: Vec<V>) -> V {
    bump(Tag::Total);
    V::new(e_sum(&xs.iter().map(|x| x.v).collect::<Vec<_>>()))
}

#[delayed]
fn sum_all(xs: &[V]) -> V {
    bump(Tag::SumAll);
    V::new(e_sum_all(&xs.iter().map(|x| x.v).collect::<Vec<_>>()))
}

#[delayed(pure = false)]
fn noisy(a: &V) -> V {
    bump(Tag::Noisy);
    V::new(e_noisy(a.v))
}

/// `mode` 0 passes `a` through; 1 returns `Err`, 2 panics with a string, 3 panics with a
/// payload that is not a string.
#[delayed]
fn fault(a: V, mode: u8) -> Result<V, Boom> {
    bump(Tag::Fault);
    match mode {
        0 => Ok(a),
        1 => Err(Boom(a.v)),
        2 => panic!("boom at {}", a.v),
        _ => std::panic::panic_any(NotAString(a.v)),
    }
}

// ---------------------------------------------------------------------------------------
// Programs: how each step is built lazily and evaluated eagerly.

/// An argument: an earlier step or a constant.
#[derive(Clone, Copy, Debug)]
enum Opnd {
    Node(usize),
    Const(i64),
}

/// How a step is built, with its arguments resolved to earlier steps.
#[derive(Clone, Debug)]
enum Recipe {
    Value(i64),
    Add(usize, Opnd),
    Mix(usize, usize, i64),
    Bin(Tag, usize, Opnd),
    Shl(usize, u32),
    Unary(Tag, usize),
    Map(Tag, usize),
    Closure(usize, usize),
    PathFn(usize, usize),
    Spread(usize),
    Get(usize, usize),
    Split(usize),
    Field(usize, usize),
    Unw(usize, i64),
    /// `total(vec_of_delayed)`: an implicit `collect` node, then `total`.
    Total(Vec<usize>),
    Collect(Vec<usize>),
    SumAll(usize),
    Noisy(usize),
    Fault(usize, u8),
}

/// The eager value of a step.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    V(i64),
    Bag(Vec<i64>),
    Pair(i64, i64),
    W(i64),
    Vec(Vec<i64>),
}

impl Val {
    fn v(&self) -> i64 {
        match self {
            Val::V(v) | Val::W(v) => *v,
            other => panic!("model: expected a scalar, got {other:?}"),
        }
    }
}

/// The lazy handle of a step.
enum Handle {
    V(Delayed<V>),
    Bag(Delayed<Bag>),
    Pair(Delayed<(W, W)>),
    W(Delayed<W>),
    Vec(Delayed<Vec<V>>),
    /// The implicit `collect` of a `Vec<Delayed>` argument has no handle of its own.
    None,
}

impl Handle {
    fn key(&self) -> Option<Key> {
        match self {
            Handle::V(d) => Some(d.key()),
            Handle::Bag(d) => Some(d.key()),
            Handle::Pair(d) => Some(d.key()),
            Handle::W(d) => Some(d.key()),
            Handle::Vec(d) => Some(d.key()),
            Handle::None => None,
        }
    }

    fn label(&self) -> Option<String> {
        match self {
            Handle::V(d) => Some(d.label()),
            _ => None,
        }
    }
}

/// A canonical argument: an expression id or a constant.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum CArg {
    Expr(usize),
    Const(i64),
}

struct Step {
    recipe: Recipe,
    tag: Tag,
    /// Canonical expression id: equal ids are equal expressions.
    expr: usize,
    /// The steps it reads.
    deps: Vec<usize>,
    val: Val,
    handle: Handle,
}

#[derive(Default)]
struct Program {
    steps: Vec<Step>,
    exprs: HashMap<(Tag, Vec<CArg>), usize>,
    fresh: i64,
    /// How many `V`/`W` instances the graph itself holds (data and constant arguments).
    held: usize,
}

/// The raw material of one step, as drawn by proptest (resolved against earlier steps
/// when the program is built, so any list of draws is a valid program and shrinks well).
type Draw = (u8, u16, u16, u16, u8);

fn v(x: &Handle) -> &Delayed<V> {
    match x {
        Handle::V(d) => d,
        _ => panic!("model: expected a Delayed<V>"),
    }
}

impl Program {
    /// Builds the program from draws. `faults`: whether `fault` steps may fail.
    fn build(draws: &[Draw], faults: bool) -> Program {
        let mut p = Program::default();
        for &draw in draws {
            p.step(draw, faults);
        }
        p
    }

    /// Steps of type `V` (the ones with a handle).
    fn of(&self, want: fn(&Val) -> bool) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|&i| want(&self.steps[i].val) && !matches!(self.steps[i].handle, Handle::None))
            .collect()
    }

    /// An earlier step: mostly one of the last few (deep graphs), one time in eight any.
    fn pick(&self, want: fn(&Val) -> bool, raw: u16) -> Option<usize> {
        let list = self.of(want);
        if list.is_empty() {
            return None;
        }
        let r = raw as usize >> 3;
        Some(if raw & 7 != 0 {
            list[list.len() - 1 - r % list.len().min(6)]
        } else {
            list[r % list.len()]
        })
    }

    fn step(&mut self, (op, a, b, c, k): Draw, faults: bool) {
        let is_v = |v: &Val| matches!(v, Val::V(_));
        let is_bag = |v: &Val| matches!(v, Val::Bag(_));
        let is_pair = |v: &Val| matches!(v, Val::Pair(..));
        let is_w = |v: &Val| matches!(v, Val::W(_));
        let is_vec = |v: &Val| matches!(v, Val::Vec(_));
        let small = i64::from(k % 3);
        let Some(x) = self.pick(is_v, a) else {
            self.push(Recipe::Value(small));
            return;
        };
        let y = self.pick(is_v, b).unwrap_or(x);
        let opnd = if c % 3 == 0 {
            Opnd::Const(small)
        } else {
            Opnd::Node(y)
        };
        let recipe = match op % 23 {
            0 if k % 4 == 0 => Recipe::Value(i64::from(k % 5)),
            0 => Recipe::Add(x, Opnd::Const(small)),
            1 => Recipe::Add(x, Opnd::Node(y)),
            2 => Recipe::Add(x, opnd),
            3 => Recipe::Mix(x, y, small),
            4 => {
                let tag = [Tag::OpAdd, Tag::OpSub, Tag::OpMul, Tag::OpXor][usize::from(k % 4)];
                Recipe::Bin(tag, x, opnd)
            }
            5 => Recipe::Shl(x, u32::from(k % 8)),
            6 => Recipe::Unary(if k % 2 == 0 { Tag::OpNeg } else { Tag::OpNot }, x),
            7 => Recipe::Map(if k % 2 == 0 { Tag::Map1 } else { Tag::Map2 }, x),
            8 => Recipe::Closure(x, y),
            9 => Recipe::PathFn(x, y),
            10 => Recipe::Spread(x),
            11 => match self.pick_recent(is_bag, c) {
                Some(bag) => Recipe::Get(bag, usize::from(k % 4)),
                None => Recipe::Spread(x),
            },
            12 => Recipe::Split(x),
            13 => match self.pick_recent(is_pair, c) {
                Some(pair) => {
                    self.push(Recipe::Field(pair, 0));
                    Recipe::Field(pair, 1)
                }
                None => Recipe::Split(x),
            },
            14 => match self.pick_recent(is_w, c) {
                Some(w) => Recipe::Unw(w, small),
                None => Recipe::Split(x),
            },
            15 => Recipe::Total(self.list(x, b, c)),
            16 => Recipe::Collect(self.list(x, b, c)),
            17 => match self.pick_recent(is_vec, c) {
                Some(vec) => Recipe::SumAll(vec),
                None => Recipe::Collect(vec![x, y]),
            },
            18 => Recipe::Noisy(x),
            19 => {
                // In fault mode one `fault` step in two fails, in one of three ways.
                let mode = if faults && k % 2 == 0 {
                    1 + (c >> 5) % 3
                } else {
                    0
                };
                Recipe::Fault(x, mode as u8)
            }
            20 => {
                // Build an earlier step again, as a separate node.
                let j = self.earlier(c);
                match &self.steps[j].handle {
                    Handle::None => Recipe::Value(small),
                    _ => self.steps[j].recipe.clone(),
                }
            }
            21 => {
                // An earlier step with its arguments swapped: a different expression,
                // unless both arguments are the same step.
                let j = self.earlier(c);
                match self.steps[j].recipe {
                    Recipe::Add(x, Opnd::Node(y)) => Recipe::Add(y, Opnd::Node(x)),
                    Recipe::Mix(x, y, k) => Recipe::Mix(y, x, k),
                    Recipe::Bin(tag, x, Opnd::Node(y)) => Recipe::Bin(tag, y, Opnd::Node(x)),
                    Recipe::Closure(x, y) => Recipe::Closure(y, x),
                    Recipe::PathFn(x, y) => Recipe::PathFn(y, x),
                    _ => Recipe::Mix(y, x, small),
                }
            }
            _ => {
                // An earlier step's arguments given to another function.
                let j = self.earlier(c);
                match self.steps[j].recipe {
                    Recipe::Add(x, Opnd::Node(y)) => Recipe::Closure(x, y),
                    Recipe::Closure(x, y) => Recipe::PathFn(x, y),
                    Recipe::PathFn(x, y) => Recipe::Bin(Tag::OpAdd, x, Opnd::Node(y)),
                    Recipe::Bin(_, x, o) => Recipe::Add(x, o),
                    Recipe::Map(Tag::Map1, x) => Recipe::Map(Tag::Map2, x),
                    Recipe::Map(_, x) => Recipe::Unary(Tag::OpNeg, x),
                    Recipe::Unary(_, x) => Recipe::Map(Tag::Map1, x),
                    Recipe::Collect(ref items) => Recipe::Total(items.clone()),
                    Recipe::Total(ref items) => Recipe::Collect(items.clone()),
                    Recipe::Noisy(x) | Recipe::Spread(x) | Recipe::Split(x) => Recipe::Fault(x, 0),
                    _ => Recipe::Add(x, Opnd::Node(y)),
                }
            }
        };
        self.push(recipe);
    }

    /// A step of a container type, if one of the last 24 steps is one (older ones would
    /// cut the chain short): mostly the latest, sometimes any of them.
    fn pick_recent(&self, want: fn(&Val) -> bool, raw: u16) -> Option<usize> {
        let start = self.steps.len().saturating_sub(24);
        let list: Vec<usize> = (start..self.steps.len())
            .filter(|&i| want(&self.steps[i].val) && !matches!(self.steps[i].handle, Handle::None))
            .collect();
        let r = usize::from(raw >> 2);
        match list.len() {
            0 => None,
            n if raw & 3 != 0 => Some(list[n - 1]),
            n => Some(list[r % n]),
        }
    }

    /// An earlier step of any type: mostly a recent one.
    fn earlier(&self, c: u16) -> usize {
        let (len, r) = (self.steps.len(), usize::from(c >> 2));
        if c & 3 == 0 {
            r % len
        } else {
            len - 1 - r % len.min(16)
        }
    }

    /// One to four `V` steps, repeats allowed.
    fn list(&self, first: usize, b: u16, c: u16) -> Vec<usize> {
        let is_v = |v: &Val| matches!(v, Val::V(_));
        let mut items = vec![first];
        for i in 0..usize::from(c % 4) {
            let raw = b.rotate_left(4 * i as u32) ^ c;
            items.push(self.pick(is_v, raw).unwrap_or(first));
        }
        items
    }

    fn val(&self, i: usize) -> &Val {
        &self.steps[i].val
    }

    fn h(&self, i: usize) -> &Handle {
        &self.steps[i].handle
    }

    fn ex(&self, i: usize) -> CArg {
        CArg::Expr(self.steps[i].expr)
    }

    fn expr_arg(&self, o: Opnd) -> CArg {
        match o {
            Opnd::Node(i) => CArg::Expr(self.steps[i].expr),
            Opnd::Const(c) => CArg::Const(c),
        }
    }

    fn opnd_val(&self, o: Opnd) -> i64 {
        match o {
            Opnd::Node(i) => self.val(i).v(),
            Opnd::Const(c) => c,
        }
    }

    fn push(&mut self, recipe: Recipe) {
        if let Recipe::Total(items) = &recipe {
            // The `Vec<Delayed<V>>` argument becomes a `collect` node first.
            self.push(Recipe::Collect(items.clone()));
            let collect = self.steps.len() - 1;
            self.steps[collect].handle = Handle::None;
            let xs = match self.val(collect) {
                Val::Vec(xs) => xs.clone(),
                _ => unreachable!(),
            };
            let handle = Handle::V(total(
                items
                    .iter()
                    .map(|&i| v(self.h(i)).clone())
                    .collect::<Vec<_>>(),
            ));
            let expr = self.expr(Tag::Total, vec![CArg::Expr(self.steps[collect].expr)]);
            self.steps.push(Step {
                recipe,
                tag: Tag::Total,
                expr,
                deps: vec![collect],
                val: Val::V(e_sum(&xs)),
                handle,
            });
            return;
        }
        let mut held = 0;
        let (tag, args, deps, val, handle): (Tag, Vec<CArg>, Vec<usize>, Val, Handle) = match recipe
        {
            Recipe::Value(c) => {
                held += 1;
                (
                    Tag::Value,
                    vec![CArg::Const(c)],
                    vec![],
                    Val::V(c),
                    Handle::V(value(V::new(c))),
                )
            }
            Recipe::Add(x, o) => {
                let hx = v(self.h(x));
                let handle = match o {
                    Opnd::Node(y) => add(hx, v(self.h(y))),
                    Opnd::Const(c) => {
                        held += 1;
                        add(hx, V::new(c))
                    }
                };
                let deps = if let Opnd::Node(y) = o {
                    vec![x, y]
                } else {
                    vec![x]
                };
                let val = Val::V(e_fn_add(self.val(x).v(), self.opnd_val(o)));
                (
                    Tag::Add,
                    vec![self.ex(x), self.expr_arg(o)],
                    deps,
                    val,
                    Handle::V(handle),
                )
            }
            Recipe::Mix(x, y, k) => (
                Tag::Mix,
                vec![self.ex(x), self.ex(y), CArg::Const(k)],
                vec![x, y],
                Val::V(e_mix(self.val(x).v(), self.val(y).v(), k)),
                Handle::V(mix(v(self.h(x)), v(self.h(y)), k)),
            ),
            Recipe::Bin(tag, x, o) => {
                let hx = v(self.h(x));
                let (handle, deps) = match o {
                    Opnd::Node(y) => {
                        let hy = v(self.h(y));
                        let d = match tag {
                            Tag::OpAdd => hx + hy,
                            Tag::OpSub => hx.clone() - hy,
                            Tag::OpMul => hx * hy.clone(),
                            _ => hx.clone() ^ hy.clone(),
                        };
                        (d, vec![x, y])
                    }
                    Opnd::Const(c) => {
                        held += 1;
                        let c = V::new(c);
                        let d = match tag {
                            Tag::OpAdd => hx + c,
                            Tag::OpSub => hx.clone() - c,
                            Tag::OpMul => hx * c,
                            _ => hx ^ c,
                        };
                        (d, vec![x])
                    }
                };
                let (a, b) = (self.val(x).v(), self.opnd_val(o));
                let val = match tag {
                    Tag::OpAdd => e_add(a, b),
                    Tag::OpSub => e_sub(a, b),
                    Tag::OpMul => e_mul(a, b),
                    _ => e_xor(a, b),
                };
                (
                    tag,
                    vec![self.ex(x), self.expr_arg(o)],
                    deps,
                    Val::V(val),
                    Handle::V(handle),
                )
            }
            Recipe::Shl(x, k) => (
                Tag::OpShl,
                vec![self.ex(x), CArg::Const(i64::from(k))],
                vec![x],
                Val::V(m(self.val(x).v() << k)),
                Handle::V(v(self.h(x)) << k),
            ),
            Recipe::Unary(tag, x) => {
                let hx = v(self.h(x));
                let a = self.val(x).v();
                let (val, handle) = if tag == Tag::OpNeg {
                    (-a, -hx)
                } else {
                    (m(!a), !hx.clone())
                };
                (
                    tag,
                    vec![self.ex(x)],
                    vec![x],
                    Val::V(val),
                    Handle::V(handle),
                )
            }
            Recipe::Map(tag, x) => {
                let hx = v(self.h(x));
                let a = self.val(x).v();
                let (val, handle) = if tag == Tag::Map1 {
                    let d = hx.map(|v: &V| {
                        bump(Tag::Map1);
                        V::new(e_map1(v.v))
                    });
                    (e_map1(a), d)
                } else {
                    let d = hx.map(|v: &V| {
                        bump(Tag::Map2);
                        V::new(e_map2(v.v))
                    });
                    (e_map2(a), d)
                };
                (
                    tag,
                    vec![self.ex(x)],
                    vec![x],
                    Val::V(val),
                    Handle::V(handle),
                )
            }
            Recipe::Closure(x, y) => {
                let (hx, hy) = (v(self.h(x)), v(self.h(y)));
                let d = delay!((|a: V, b: V| {
                    bump(Tag::Closure);
                    V::new(e_closure(a.v, b.v))
                })(hx, hy));
                let val = Val::V(e_closure(self.val(x).v(), self.val(y).v()));
                (
                    Tag::Closure,
                    vec![self.ex(x), self.ex(y)],
                    vec![x, y],
                    val,
                    Handle::V(d),
                )
            }
            Recipe::PathFn(x, y) => {
                let d = delay!(combine(v(self.h(x)), v(self.h(y))));
                let val = Val::V(e_path(self.val(x).v(), self.val(y).v()));
                (
                    Tag::PathFn,
                    vec![self.ex(x), self.ex(y)],
                    vec![x, y],
                    val,
                    Handle::V(d),
                )
            }
            Recipe::Spread(x) => (
                Tag::Spread,
                vec![self.ex(x)],
                vec![x],
                Val::Bag(e_spread(self.val(x).v())),
                Handle::Bag(spread(v(self.h(x)))),
            ),
            Recipe::Get(bag, i) => {
                let Handle::Bag(hb) = self.h(bag) else {
                    unreachable!()
                };
                let Val::Bag(items) = self.val(bag) else {
                    unreachable!()
                };
                (
                    Tag::Get,
                    vec![self.ex(bag), CArg::Const(i as i64)],
                    vec![bag],
                    Val::V(items[i]),
                    Handle::V(hb.get(i)),
                )
            }
            Recipe::Split(x) => {
                let (a, b) = e_split(self.val(x).v());
                (
                    Tag::Split,
                    vec![self.ex(x)],
                    vec![x],
                    Val::Pair(a, b),
                    Handle::Pair(split(v(self.h(x)))),
                )
            }
            Recipe::Field(pair, i) => {
                let Handle::Pair(hp) = self.h(pair) else {
                    unreachable!()
                };
                let Val::Pair(a, b) = *self.val(pair) else {
                    unreachable!()
                };
                let fields = hp.unpack();
                let (val, handle) = if i == 0 { (a, fields.0) } else { (b, fields.1) };
                (
                    Tag::Field,
                    vec![self.ex(pair), CArg::Const(i as i64)],
                    vec![pair],
                    Val::W(val),
                    Handle::W(handle),
                )
            }
            Recipe::Unw(w, k) => {
                let Handle::W(hw) = self.h(w) else {
                    unreachable!()
                };
                let val = Val::V(e_unw(self.val(w).v(), k));
                (
                    Tag::Unw,
                    vec![self.ex(w), CArg::Const(k)],
                    vec![w],
                    val,
                    Handle::V(unw(hw, k)),
                )
            }
            Recipe::Collect(ref items) => {
                let handles: Vec<&Delayed<V>> = items.iter().map(|&i| v(self.h(i))).collect();
                let val = Val::Vec(items.iter().map(|&i| self.val(i).v()).collect());
                let args = items.iter().map(|&i| self.ex(i)).collect();
                (
                    Tag::Collect,
                    args,
                    items.clone(),
                    val,
                    Handle::Vec(delayed::collect(handles)),
                )
            }
            Recipe::SumAll(vec) => {
                let Handle::Vec(hv) = self.h(vec) else {
                    unreachable!()
                };
                let Val::Vec(xs) = self.val(vec) else {
                    unreachable!()
                };
                (
                    Tag::SumAll,
                    vec![self.ex(vec)],
                    vec![vec],
                    Val::V(e_sum_all(xs)),
                    Handle::V(sum_all(hv)),
                )
            }
            Recipe::Noisy(x) => {
                // Impure: a new expression every time it is built.
                self.fresh += 1;
                (
                    Tag::Noisy,
                    vec![self.ex(x), CArg::Const(-self.fresh)],
                    vec![x],
                    Val::V(e_noisy(self.val(x).v())),
                    Handle::V(noisy(v(self.h(x)))),
                )
            }
            Recipe::Fault(x, mode) => (
                Tag::Fault,
                vec![self.ex(x), CArg::Const(i64::from(mode))],
                vec![x],
                Val::V(self.val(x).v()),
                Handle::V(fault(v(self.h(x)), mode)),
            ),
            Recipe::Total(_) => unreachable!(),
        };
        self.held += held;
        let expr = self.expr(tag, args);
        self.steps.push(Step {
            recipe,
            tag,
            expr,
            deps,
            val,
            handle,
        });
    }

    fn expr(&mut self, tag: Tag, args: Vec<CArg>) -> usize {
        let next = self.exprs.len();
        *self.exprs.entry((tag, args)).or_insert(next)
    }

    /// The steps `roots` depend on, themselves included.
    fn closure(&self, roots: &[usize]) -> Vec<usize> {
        let mut seen = vec![false; self.steps.len()];
        let mut stack = roots.to_vec();
        let mut out = Vec::new();
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut seen[i], true) {
                out.push(i);
                stack.extend(&self.steps[i].deps);
            }
        }
        out
    }

    /// Per tag, the number of distinct expressions `roots` depend on: the runs one
    /// compute of `roots` must make.
    fn expected_runs(&self, roots: &[usize]) -> [usize; TAGS] {
        let mut distinct: HashSet<usize> = HashSet::new();
        let mut counts = [0; TAGS];
        for i in self.closure(roots) {
            if distinct.insert(self.steps[i].expr) {
                counts[self.steps[i].tag as usize] += 1;
            }
        }
        counts
    }

    /// Failing `fault` steps that `roots` depend on: label → mode.
    fn reachable_faults(&self, roots: &[usize]) -> HashMap<String, u8> {
        self.closure(roots)
            .into_iter()
            .filter_map(|i| match self.steps[i].recipe {
                Recipe::Fault(_, mode) if mode != 0 => Some((self.h(i).label()?, mode)),
                _ => None,
            })
            .collect()
    }

    /// Resolves raw root draws to `V` steps.
    fn roots(&self, raw: &[u16]) -> Vec<usize> {
        let vs = self.of(|v| matches!(v, Val::V(_)));
        raw.iter()
            .map(|&r| {
                let r = usize::from(r >> 2);
                // Mostly late steps (deep), sometimes any.
                if r & 3 == 0 {
                    vs[r % vs.len()]
                } else {
                    vs[vs.len() - 1 - r % vs.len().min(8)]
                }
            })
            .collect()
    }

    fn root_handles(&self, roots: &[usize]) -> Vec<&Delayed<V>> {
        roots.iter().map(|&i| v(self.h(i))).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Checks.

static SCHEDULERS: LazyLock<[Scheduler; 3]> = LazyLock::new(|| {
    [
        Scheduler::sync(),
        Scheduler::threads(1),
        Scheduler::threads(4),
    ]
});

fn check_runs(p: &Program, roots: &[usize], what: &str) -> Result<(), TestCaseError> {
    let expected = p.expected_runs(roots);
    for tag in all_tags() {
        if UNCOUNTED.contains(&tag) {
            continue;
        }
        prop_assert_eq!(
            runs(tag),
            expected[tag as usize],
            "{}: runs of {:?} (distinct expressions of it in the graph)",
            what,
            tag
        );
    }
    Ok(())
}

fn all_tags() -> impl Iterator<Item = Tag> {
    use Tag::*;
    [
        Value, Add, Mix, OpAdd, OpSub, OpMul, OpXor, OpShl, OpNeg, OpNot, Map1, Map2, Closure,
        PathFn, Spread, Get, Split, Field, Unw, Collect, Total, SumAll, Noisy, Fault,
    ]
    .into_iter()
}

/// Equal expressions ⇔ equal keys, over every step with a handle.
fn check_keys(p: &Program) -> Result<(), TestCaseError> {
    let mut key_of_expr: HashMap<usize, Key> = HashMap::new();
    let mut expr_of_key: HashMap<Key, usize> = HashMap::new();
    for (i, s) in p.steps.iter().enumerate() {
        let Some(key) = s.handle.key() else { continue };
        let k = *key_of_expr.entry(s.expr).or_insert(key);
        prop_assert_eq!(
            k,
            key,
            "step {} ({:?}): an equal expression has another key",
            i,
            s.recipe
        );
        let e = *expr_of_key.entry(key).or_insert(s.expr);
        prop_assert_eq!(
            e,
            s.expr,
            "step {} ({:?}): a different expression has its key",
            i,
            s.recipe
        );
    }
    Ok(())
}

fn values(xs: Vec<V>) -> Vec<i64> {
    xs.iter().map(|x| x.v).collect()
}

fn live() -> usize {
    LIVE.load(SeqCst)
}

/// The whole property for one program without faults.
fn check_program(draws: &[Draw], raw_roots: &[u16]) -> Result<(), TestCaseError> {
    let p = Program::build(draws, false);
    let roots = p.roots(raw_roots);
    let handles = p.root_handles(&roots);
    let eager: Vec<i64> = roots.iter().map(|&r| p.val(r).v()).collect();
    check_keys(&p)?;
    for sched in SCHEDULERS.iter() {
        reset_runs();
        let got = watchdog("compute of random roots", || {
            delayed::compute_with(&handles, sched)
        });
        prop_assert_eq!(
            values(got.expect("no faults")),
            eager.clone(),
            "{:?}, all at once",
            sched
        );
        check_runs(&p, &roots, &format!("{sched:?}, all at once"))?;
        prop_assert_eq!(
            live(),
            p.held,
            "{:?}: only the graph's own values are alive",
            sched
        );
        for (&r, handle) in roots.iter().zip(&handles).take(3) {
            reset_runs();
            let got = watchdog("compute of one root", || handle.compute_with(sched));
            prop_assert_eq!(
                got.expect("no faults").v,
                p.val(r).v(),
                "{:?}, one by one",
                sched
            );
            check_runs(&p, &[r], &format!("{sched:?}, one root"))?;
        }
        prop_assert_eq!(live(), p.held);
    }
    drop(handles);
    drop(p);
    prop_assert_eq!(live(), 0, "values outlived their graph");
    Ok(())
}

/// The whole property for one program with faults.
fn check_faults(draws: &[Draw], raw_roots: &[u16]) -> Result<(), TestCaseError> {
    let p = Program::build(draws, true);
    let roots = p.roots(raw_roots);
    let handles = p.root_handles(&roots);
    let failing = p.reachable_faults(&roots);
    let expected = p.expected_runs(&roots);
    for sched in SCHEDULERS.iter() {
        reset_runs();
        let got = watchdog("compute with faults", || {
            delayed::compute_with(&handles, sched)
        });
        // Whatever ran, ran at most once.
        for tag in all_tags().filter(|t| !UNCOUNTED.contains(t)) {
            prop_assert!(
                runs(tag) <= expected[tag as usize],
                "{:?}: {:?} ran twice",
                sched,
                tag
            );
        }
        match got {
            Ok(vals) => {
                prop_assert!(
                    failing.is_empty(),
                    "{:?}: no error, but {:?} must fail",
                    sched,
                    failing
                );
                let eager: Vec<i64> = roots.iter().map(|&r| p.val(r).v()).collect();
                prop_assert_eq!(values(vals), eager);
            }
            Err(err) => {
                let task = err.task().map(str::to_owned);
                let mode = task.as_ref().and_then(|t| failing.get(t)).copied();
                prop_assert!(
                    mode.is_some(),
                    "{:?}: {} is not a failing task of the graph",
                    sched,
                    err
                );
                match (&err, mode.unwrap()) {
                    (Error::Failed { source, .. }, 1) => {
                        prop_assert!(source.downcast_ref::<Boom>().is_some());
                    }
                    (Error::Panicked { message, .. }, 2) => {
                        prop_assert!(message.starts_with("boom at "), "{}", message);
                    }
                    (Error::Panicked { message, .. }, 3) => {
                        prop_assert_eq!(message.as_str(), "(the panic payload is not a string)");
                    }
                    (err, mode) => {
                        prop_assert!(false, "{:?}: {} for fault mode {}", sched, err, mode)
                    }
                }
            }
        }
        prop_assert_eq!(
            live(),
            p.held,
            "{:?}: a result leaked past a failed compute",
            sched
        );
    }

    // The same program without the faults computes correctly.
    let clean = Program::build(draws, false);
    let clean_handles = clean.root_handles(&roots);
    let eager: Vec<i64> = roots.iter().map(|&r| clean.val(r).v()).collect();
    for sched in SCHEDULERS.iter() {
        let got = watchdog("compute without faults", || {
            delayed::compute_with(&clean_handles, sched)
        });
        prop_assert_eq!(
            values(got.expect("faults removed")),
            eager.clone(),
            "{:?}",
            sched
        );
    }
    drop((handles, clean_handles));
    drop((p, clean));
    prop_assert_eq!(live(), 0, "values outlived their graph");
    Ok(())
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn program(max_steps: usize) -> impl Strategy<Value = (Vec<Draw>, Vec<u16>)> {
    (
        prop::collection::vec(any::<Draw>(), 1..max_steps),
        prop::collection::vec(any::<u16>(), 1..8),
    )
}

fn run_property(
    max_steps: usize,
    default_cases: u32,
    check: fn(&[Draw], &[u16]) -> Result<(), TestCaseError>,
) {
    let _serial = serial();
    support::quiet_expected_panics(&["boom at "]);
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&program(max_steps), |(draws, roots)| check(&draws, &roots));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn random_programs_compute_their_eager_values() {
    run_property(300, 24, check_program);
}

#[test]
fn random_faults_are_reported_and_leave_nothing_behind() {
    run_property(300, 24, check_faults);
}

#[test]
#[ignore = "graphs of up to 2,000 steps: run in release by .ci/run"]
fn random_programs_large() {
    run_property(2_000, 64, check_program);
}

#[test]
#[ignore = "graphs of up to 2,000 steps: run in release by .ci/run"]
fn random_faults_large() {
    run_property(2_000, 64, check_faults);
}

/// The model itself: a hand-written program whose shape, values and counts are known.
#[test]
fn the_model_agrees_with_a_hand_written_program() {
    let _serial = serial();
    // value(1); add(s0, s0); value(1) again; add(s0, s0) again; add(s2, s2) (equal
    // inputs, built separately); mix(s1, s0, 0) and mix(s0, s1, 0) (order matters).
    let mut p = Program::default();
    for recipe in [
        Recipe::Value(1),
        Recipe::Add(0, Opnd::Node(0)),
        Recipe::Value(1),
        Recipe::Add(0, Opnd::Node(0)),
        Recipe::Add(2, Opnd::Node(2)),
        Recipe::Mix(1, 0, 0),
        Recipe::Mix(0, 1, 0),
    ] {
        p.push(recipe);
    }
    assert_eq!(p.h(1).key(), p.h(4).key());
    assert_ne!(p.h(5).key(), p.h(6).key());
    assert_eq!(p.val(5), &Val::V(14));
    assert_eq!(p.val(6), &Val::V(18));
    assert_eq!(p.expected_runs(&[5, 6])[Tag::Mix as usize], 2);
    assert_eq!(p.expected_runs(&[5, 6])[Tag::Add as usize], 1);
    reset_runs();
    let got = delayed::compute(p.root_handles(&[5, 6, 4])).unwrap();
    assert_eq!(values(got), vec![14, 18, 3]);
    assert_eq!((runs(Tag::Add), runs(Tag::Mix)), (1, 2));
    p.steps.truncate(4);
    assert_eq!(p.steps.len(), 4);
    assert_eq!(p.val(1), &Val::V(3));
    assert_eq!(p.steps[0].expr, p.steps[2].expr);
    assert_eq!(p.steps[1].expr, p.steps[3].expr);
    assert_eq!(p.h(1).key(), p.h(3).key());
    assert_eq!(p.expected_runs(&[1, 3])[Tag::Add as usize], 1);
    reset_runs();
    let got = delayed::compute(p.root_handles(&[1, 3])).unwrap();
    assert_eq!(values(got), vec![3, 3]);
    assert_eq!(runs(Tag::Add), 1);
}
