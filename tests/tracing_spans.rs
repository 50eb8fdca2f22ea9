//! Feature `tracing`: one `task` span per task that runs, with its function's name and
//! key prefix as fields, seen by a hand-written subscriber.
//!
//! `cargo test --features tracing --test tracing_spans` (CI runs it).
#![cfg(feature = "tracing")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use delayed::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records `(span name, name field, key field)` of every span created.
#[derive(Default)]
struct Collect {
    spans: Mutex<Vec<(String, String, String)>>,
    next: AtomicU64,
}

#[derive(Default)]
struct Fields {
    name: String,
    key: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "name" => self.name = value.to_owned(),
            "key" => self.key = value.to_owned(),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl Subscriber for &'static Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        span.record(&mut fields);
        self.spans.lock().unwrap().push((
            span.metadata().name().to_owned(),
            fields.name,
            fields.key,
        ));
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

#[delayed]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn every_task_gets_a_span_on_every_scheduler() {
    static COLLECT: std::sync::LazyLock<Collect> = std::sync::LazyLock::new(Collect::default);
    // Global, so the pools' workers see it too (the only test in this binary).
    tracing::subscriber::set_global_default(&*COLLECT).expect("no other subscriber");
    let a = inc(1);
    let d = add(&a, inc(a.clone())); // inc(1), inc(inc(1)), add: three tasks
    for sched in [Scheduler::sync(), Scheduler::threads(2), Scheduler::new()] {
        COLLECT.spans.lock().unwrap().clear();
        assert_eq!(d.compute_with(&sched).unwrap(), 5);
        let mut spans = COLLECT.spans.lock().unwrap().clone();
        spans.sort();
        let names: Vec<(&str, &str)> = spans
            .iter()
            .map(|(span, name, _)| (span.as_str(), name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("task", "add"), ("task", "inc"), ("task", "inc")],
            "{sched:?}"
        );
        let add_span = spans.iter().find(|s| s.1 == "add").unwrap();
        assert_eq!(add_span.2, d.key().short());
    }
}
