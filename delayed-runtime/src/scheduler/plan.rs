//! From nodes to a flat plan: one task per distinct key, in dependency order.
//!
//! The graph is walked with an explicit stack (a million-node chain would overflow the
//! call stack), deduplicating by key: two nodes built separately from the same function
//! and inputs become one task.

use std::sync::Arc;

use crate::key::KeyMap;
use crate::node::{Input, Node};
use crate::scheduler::slots::CONST;

pub(crate) struct Plan<'g> {
    /// Distinct tasks; every task comes after all of its inputs.
    pub(crate) tasks: Vec<&'g Node>,
    /// `sources[input_start[t]..input_start[t + 1]]`: for each input of task `t`, the task
    /// that produces it, or `CONST`.
    pub(crate) input_start: Vec<u32>,
    pub(crate) sources: Vec<u32>,
    /// `dependents[dependent_start[t]..dependent_start[t + 1]]`: the tasks reading `t`'s
    /// result, once per read.
    pub(crate) dependent_start: Vec<u32>,
    pub(crate) dependents: Vec<u32>,
    /// How many of each task's inputs are results of other tasks.
    pub(crate) waiting_on: Vec<u32>,
    /// How many times each task's result is read (by tasks and by the caller).
    pub(crate) reads: Vec<u32>,
    /// The task of each root, in the order the roots were given.
    pub(crate) roots: Vec<u32>,
}

const IN_PROGRESS: u32 = u32::MAX;

impl<'g> Plan<'g> {
    pub(crate) fn new(roots: &[&'g Arc<Node>]) -> Plan<'g> {
        let mut index: KeyMap<u32> = KeyMap::default();
        let mut tasks: Vec<&'g Node> = Vec::new();
        let mut input_start = vec![0u32];
        let mut sources: Vec<u32> = Vec::new();
        let mut stack: Vec<(&'g Node, bool)> = Vec::new();

        for root in roots {
            stack.push((root, false));
            while let Some((node, expanded)) = stack.pop() {
                if expanded {
                    let id = tasks.len() as u32;
                    for input in node.inputs.iter() {
                        sources.push(match input {
                            Input::Node(child) => index[&child.key],
                            Input::Const(_) => CONST,
                        });
                    }
                    input_start.push(sources.len() as u32);
                    tasks.push(node);
                    index.insert(node.key, id);
                    continue;
                }
                if index.contains_key(&node.key) {
                    continue;
                }
                index.insert(node.key, IN_PROGRESS);
                stack.push((node, true));
                for child in node.node_inputs().rev() {
                    if !index.contains_key(&child.key) {
                        stack.push((child, false));
                    }
                }
            }
        }

        let n = tasks.len();
        let mut reads = vec![0u32; n];
        let mut waiting_on = vec![0u32; n];
        for t in 0..n {
            for &s in &sources[input_start[t] as usize..input_start[t + 1] as usize] {
                if s != CONST {
                    reads[s as usize] += 1;
                    waiting_on[t] += 1;
                }
            }
        }
        let mut dependent_start = Vec::with_capacity(n + 1);
        dependent_start.push(0u32);
        let mut total = 0u32;
        for &r in &reads {
            total += r;
            dependent_start.push(total);
        }
        let mut fill = dependent_start.clone();
        let mut dependents = vec![0u32; total as usize];
        for t in 0..n {
            for &s in &sources[input_start[t] as usize..input_start[t + 1] as usize] {
                if s != CONST {
                    dependents[fill[s as usize] as usize] = t as u32;
                    fill[s as usize] += 1;
                }
            }
        }
        let roots: Vec<u32> = roots.iter().map(|r| index[&r.key]).collect();
        for &r in &roots {
            reads[r as usize] += 1;
        }
        Plan {
            tasks,
            input_start,
            sources,
            dependent_start,
            dependents,
            waiting_on,
            reads,
            roots,
        }
    }

    pub(crate) fn sources_of(&self, t: u32) -> &[u32] {
        &self.sources
            [self.input_start[t as usize] as usize..self.input_start[t as usize + 1] as usize]
    }

    pub(crate) fn dependents_of(&self, t: u32) -> &[u32] {
        &self.dependents[self.dependent_start[t as usize] as usize
            ..self.dependent_start[t as usize + 1] as usize]
    }
}
