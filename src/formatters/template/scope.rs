//! What one render of a template keeps on the side, for the thread doing the render: the values
//! the template printed (in order, so they can be escaped for where they land once the output is
//! complete), the fields it asked for that do not exist (for "did you mean"), and the moment
//! `ago` counts from. Rendering is synchronous, so a thread-local scope is exactly one render.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use minijinja::Value;

/// A field a template asked an object for that it does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// What the template called the object's type: `object`, `alert`, `attribute`.
    pub owner: &'static str,
    pub field: String,
    pub known: &'static [&'static str],
}

#[derive(Debug, Default)]
pub(crate) struct Scope {
    pub values: Vec<Value>,
    pub misses: Vec<Miss>,
    pub reference_time: Option<DateTime<Utc>>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Holds the scope open for one render; closing it (or unwinding) clears it.
pub(crate) struct ScopeGuard(());

impl ScopeGuard {
    pub fn open(reference_time: Option<DateTime<Utc>>) -> ScopeGuard {
        SCOPE.with(|s| {
            *s.borrow_mut() = Some(Scope {
                reference_time,
                ..Scope::default()
            })
        });
        ScopeGuard(())
    }

    /// The scope as the render left it.
    pub fn close(self) -> Scope {
        SCOPE.with(|s| s.borrow_mut().take()).unwrap_or_default()
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.with(|s| s.borrow_mut().take());
    }
}

/// Keep `value` and return its index, or `None` outside a render.
pub(crate) fn push_value(value: Value) -> Option<usize> {
    SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        let scope = s.as_mut()?;
        scope.values.push(value);
        Some(scope.values.len() - 1)
    })
}

pub(crate) fn record_miss(owner: &'static str, field: &str, known: &'static [&'static str]) {
    SCOPE.with(|s| {
        if let Some(scope) = s.borrow_mut().as_mut() {
            // a template probing with `is defined` may ask many times: keep the list short
            if scope.misses.len() < 64 {
                scope.misses.push(Miss {
                    owner,
                    field: field.to_owned(),
                    known,
                });
            }
        }
    })
}

pub(crate) fn reference_time() -> Option<DateTime<Utc>> {
    SCOPE.with(|s| s.borrow().as_ref().and_then(|scope| scope.reference_time))
}
