//! Freeing big values off the event loop (UNLINK, FLUSHALL ASYNC, and the
//! lazyfree-lazy-* options).
//!
//! Owns: one background thread and the channel feeding it. Dropping a value
//! with millions of allocations takes long enough to stall every client;
//! sending it here costs one channel push.
//!
//! Must never: be used for values that are cheap to free (the channel
//! round trip would cost more than the free), or block the loop: the
//! channel is unbounded, so a push never waits; the pending count in INFO
//! shows a backlog if one forms.
//!
//! Invariant: what is sent here is no longer reachable from the keyspace;
//! the thread only drops it.

use crate::db::Db;
use crate::types::RObj;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

/// Values whose free effort (allocations to release) is at most this are
/// freed inline, as Redis's LAZYFREE_THRESHOLD.
const LAZYFREE_THRESHOLD: usize = 64;

pub static PENDING_OBJECTS: AtomicU64 = AtomicU64::new(0);
pub static FREED_OBJECTS: AtomicU64 = AtomicU64::new(0);

/// Values are held only to be dropped on the lazyfree thread.
#[allow(dead_code)]
enum Garbage {
    Object(RObj),
    Db(Box<Db>),
}

fn sender() -> Option<Sender<Garbage>> {
    static TX: OnceLock<Option<Mutex<Sender<Garbage>>>> = OnceLock::new();
    let tx = TX.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        let spawned = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for garbage in rx {
                    drop(garbage);
                    PENDING_OBJECTS.fetch_sub(1, Ordering::Relaxed);
                    FREED_OBJECTS.fetch_add(1, Ordering::Relaxed);
                }
            });
        match spawned {
            Ok(_) => Some(Mutex::new(tx)),
            Err(e) => {
                log::warn!("Could not start the lazyfree thread, freeing inline: {e}");
                None
            }
        }
    });
    tx.as_ref().and_then(|m| m.lock().ok().map(|g| g.clone()))
}

fn send(g: Garbage) {
    match sender() {
        Some(tx) => {
            PENDING_OBJECTS.fetch_add(1, Ordering::Relaxed);
            if let Err(returned) = tx.send(g) {
                PENDING_OBJECTS.fetch_sub(1, Ordering::Relaxed);
                drop(returned.0);
            }
        }
        None => drop(g),
    }
}

/// Free a removed object, in the background if it is big.
pub fn free_object(obj: RObj) {
    if obj.free_effort() > LAZYFREE_THRESHOLD {
        send(Garbage::Object(obj));
    }
}

/// Free a whole database's tables in the background.
pub fn free_db(db: Db) {
    if db.dict.is_empty() {
        return;
    }
    send(Garbage::Db(Box::new(db)));
}
