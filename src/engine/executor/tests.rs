//! Tests of the executor core with a counting notifier (no OCaml involved).

use super::*;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::Waker;

#[derive(Default)]
struct Counting(AtomicUsize);

impl Notifier for Arc<Counting> {
    fn notify(&self) {
        self.0.fetch_add(1, Relaxed);
    }
}

fn executor() -> (Executor<Arc<Counting>>, Arc<Counting>) {
    let counter = Arc::new(Counting::default());
    (Executor::new(counter.clone()), counter)
}

/// A future that stays pending until woken through the waker it publishes.
struct Parked {
    waker: Rc<Cell<Option<Waker>>>,
    remaining_polls: usize,
}

impl Future for Parked {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.remaining_polls == 0 {
            return Poll::Ready(());
        }
        self.remaining_polls -= 1;
        self.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

#[test]
fn thousand_wakes_before_a_drain_send_one_notification() {
    let (ex, counter) = executor();
    let slot = Rc::new(Cell::new(None));
    ex.spawn_local(Parked {
        waker: slot.clone(),
        remaining_polls: 1,
    })
    .detach();
    assert_eq!(counter.0.load(Relaxed), 1, "the spawn itself notifies once");
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 1,
            rearmed: false
        }
    );
    let waker = slot.take().expect("the task parked its waker");
    for _ in 0..1000 {
        waker.wake_by_ref();
    }
    assert_eq!(
        counter.0.load(Relaxed),
        2,
        "1000 wakes, one more notification"
    );
    let stats = ex.stats();
    assert_eq!(stats.drain_requests, 2);
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 1,
            rearmed: false
        }
    );
    assert_eq!(ex.stats().live_tasks, 0);
}

#[test]
fn drain_honours_the_budget_and_rearms() {
    let (ex, counter) = executor();
    ex.set_budget(10).unwrap();
    let done = Rc::new(Cell::new(0));
    for _ in 0..25 {
        let done = done.clone();
        ex.spawn_local(async move { done.set(done.get() + 1) })
            .detach();
    }
    assert_eq!(counter.0.load(Relaxed), 1);
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 10,
            rearmed: true
        }
    );
    assert_eq!(done.get(), 10);
    assert_eq!(counter.0.load(Relaxed), 2, "work remained: re-armed");
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 10,
            rearmed: true
        }
    );
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 5,
            rearmed: false
        }
    );
    assert_eq!(done.get(), 25);
    assert_eq!(counter.0.load(Relaxed), 3, "no notification once empty");
    assert_eq!(ex.stats().max_batch, 10);
    assert_eq!(ex.set_budget(0), Err(ZeroBudget));
}

#[test]
fn a_drain_inside_a_drain_is_a_no_op() {
    let (ex, _) = executor();
    let ex = Rc::new(ex);
    let inner = Rc::new(Cell::new(None));
    let (ex2, inner2) = (Rc::downgrade(&ex), inner.clone());
    ex.spawn_local(async move {
        inner2.set(Some(ex2.upgrade().unwrap().drain()));
    })
    .detach();
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 1,
            rearmed: false
        }
    );
    assert_eq!(inner.get(), Some(Drained::Nested));
}

#[test]
fn wakes_from_other_threads_all_run_with_few_notifications() {
    let (ex, counter) = executor();
    ex.set_budget(1_000_000).unwrap();
    let spawner = ex.spawner();
    let ran = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (spawner, ran) = (spawner.clone(), ran.clone());
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    let ran = ran.clone();
                    spawner
                        .spawn(async move {
                            ran.fetch_add(1, Relaxed);
                        })
                        .detach();
                }
            })
        })
        .collect();
    // Model the owner's event loop: it drains once per notification received, never otherwise.
    let mut consumed = 0;
    loop {
        let sent = counter.0.load(Relaxed);
        assert!(
            sent - consumed <= 1,
            "{} notifications pending at once",
            sent - consumed
        );
        if sent > consumed {
            consumed += 1;
            ex.drain();
        } else if threads.iter().all(|t| t.is_finished()) && counter.0.load(Relaxed) == consumed {
            break;
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(ran.load(Relaxed), 40_000, "no wake was lost");
    assert_eq!(
        ex.stats().drains as usize,
        consumed,
        "one drain per notification"
    );
    assert_eq!(ex.stats().live_tasks, 0);
    assert_eq!(ex.stats().wakes, 40_000);
}

#[test]
fn a_task_dropped_while_queued_drops_its_future_once() {
    struct Flag(Rc<Cell<u32>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let (ex, _) = executor();
    let drops = Rc::new(Cell::new(0));
    let flag = Flag(drops.clone());
    let task = ex.spawn_local(async move {
        let _flag = flag;
        unreachable!("a cancelled task is never polled");
    });
    assert!(ex.has_work());
    drop(task);
    // async-task drops a cancelled future where it lives: when its runnable next runs.
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 1,
            rearmed: false
        }
    );
    assert_eq!(drops.get(), 1);
    assert_eq!(ex.stats().live_tasks, 0);
    assert_eq!(ex.stats().panics, 0);
}

#[test]
fn a_task_waking_itself_every_poll_does_not_starve_the_others() {
    let (ex, _) = executor();
    ex.set_budget(8).unwrap();
    let stop = Rc::new(Cell::new(false));
    let stop2 = stop.clone();
    ex.spawn_local(futures::future::poll_fn(move |cx| {
        if stop2.get() {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }))
    .detach();
    let done = Rc::new(Cell::new(0));
    for _ in 0..20 {
        let done = done.clone();
        ex.spawn_local(async move { done.set(done.get() + 1) })
            .detach();
    }
    // The busy task is re-queued behind the others each time, so three budgeted drains
    // (24 polls) reach all 20 of them.
    for _ in 0..3 {
        assert!(matches!(ex.drain(), Drained::Ran { rearmed: true, .. }));
    }
    assert_eq!(done.get(), 20);
    stop.set(true);
    ex.drain();
    assert!(!ex.has_work());
    assert_eq!(ex.stats().live_tasks, 0);
}

#[test]
fn a_panicking_task_is_contained_and_the_drain_goes_on() {
    let (ex, _) = executor();
    let task = ex.spawn_local(async { panic!("boom") });
    let after = ex.spawn_local(async { 7 });
    assert_eq!(
        ex.drain(),
        Drained::Ran {
            polled: 2,
            rearmed: false
        }
    );
    assert_eq!(ex.stats().panics, 1);
    assert_eq!(futures::executor::block_on(after), 7);
    assert!(task.is_finished());
    assert_eq!(ex.stats().live_tasks, 0);
}

#[test]
fn dropping_the_executor_drops_queued_futures() {
    let (ex, _) = executor();
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    struct SetOnDrop(Rc<Cell<bool>>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let guard = SetOnDrop(d);
    ex.spawn_local(async move {
        let _g = guard;
    })
    .detach();
    drop(ex);
    assert!(dropped.get());
}

/// A notifier for the owner-queue path: `drains_soon` holds (as inside a bridge stub), and
/// the three kinds of request are counted apart.
#[derive(Default)]
struct OwnerPath {
    notify: AtomicUsize,
    owner: AtomicUsize,
    out_of_band: AtomicUsize,
}

impl Notifier for Arc<OwnerPath> {
    fn notify(&self) {
        self.notify.fetch_add(1, Relaxed);
    }
    fn drains_soon(&self) -> bool {
        true
    }
    fn notify_owner(&self) {
        self.owner.fetch_add(1, Relaxed);
    }
    fn notify_out_of_band(&self) {
        self.out_of_band.fetch_add(1, Relaxed);
    }
}

/// Wakes itself on every poll, for ever, counting its polls.
struct Spinner(Rc<Cell<usize>>);

impl Future for Spinner {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.set(self.0.get() + 1);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_spinning_owner_task_leaves_room_for_wakes_from_other_threads() {
    let notifier = Arc::new(OwnerPath::default());
    let ex = Executor::new(notifier.clone());
    let spins = Rc::new(Cell::new(0));
    ex.spawn_local(Spinner(spins.clone())).detach();
    // Work from another thread lands in the shared queue.
    let ran = Arc::new(AtomicUsize::new(0));
    let spawner = ex.spawner();
    let ran_there = ran.clone();
    std::thread::spawn(move || {
        for _ in 0..10 {
            let ran = ran_there.clone();
            spawner
                .spawn(async move {
                    ran.fetch_add(1, Relaxed);
                })
                .detach();
        }
    })
    .join()
    .unwrap();
    assert_eq!(
        notifier.notify.load(Relaxed),
        1,
        "one notification for the shared queue"
    );
    let Drained::Ran { polled, rearmed } = ex.drain() else {
        panic!("not nested")
    };
    assert_eq!(polled, DEFAULT_BUDGET);
    assert!(rearmed, "the spinner is left");
    assert_eq!(
        ran.load(Relaxed),
        10,
        "the shared queue was served in the same drain"
    );
    assert!(
        spins.get() >= DEFAULT_BUDGET / 2,
        "the owner queue kept its share: {} polls",
        spins.get()
    );
}

#[test]
fn a_lost_owner_drain_does_not_silence_later_owner_wakes() {
    let notifier = Arc::new(OwnerPath::default());
    let ex = Executor::new(notifier.clone());
    ex.set_budget(1).unwrap();
    let slot = Rc::new(Cell::new(None));
    ex.spawn_local(Parked {
        waker: slot.clone(),
        remaining_polls: 2,
    })
    .detach();
    let spins = Rc::new(Cell::new(0));
    ex.spawn_local(Spinner(spins.clone())).detach();
    let asked = notifier.owner.load(Relaxed);
    // The drain re-arms for what is left; suppose that drain is never run (lost).
    assert!(matches!(ex.drain(), Drained::Ran { rearmed: true, .. }));
    assert!(
        notifier.owner.load(Relaxed) > asked,
        "re-armed through the owner path"
    );
    let before = notifier.owner.load(Relaxed);
    // A later wake on the owner thread asks again: nothing is sticky.
    if let Some(waker) = slot.take() {
        waker.wake();
    }
    ex.spawn_local(async {}).detach();
    assert!(
        notifier.owner.load(Relaxed) > before,
        "a later owner wake asked for a drain"
    );
}
