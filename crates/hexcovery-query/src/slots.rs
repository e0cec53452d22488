//! The query slots, shared fairly between orgs. Waiters queue per org; a slot that comes
//! free goes to the waiting org that holds the fewest slots, and among those to the one
//! served longest ago — so while one org's query waits, every other org starts at most one
//! query. Background work (alert evaluation) holds at most `max(1, slots / 2)` slots, so
//! people always find one, and within an org it takes every other turn, so people's
//! queries cannot starve the org's alerts either. A waiter that gives up (its caller went
//! away, its time ran out) leaves the queue; a slot is released when its [`Permit`] drops.
//!
//! With three slots or more, one org holds at most all but one: a slot is always left for
//! another org's query, so an org looping heavy queries keeps another org's light query
//! waiting for nothing, not for one of its heavy ones to end (the fairness benchmark saw
//! 0.6 s medians before this). The price is one slot idle while a single org is busy.

use crate::Priority;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use uuid::Uuid;

/// The slots and their queues.
#[derive(Clone)]
pub(crate) struct Slots {
    inner: Arc<Mutex<State>>,
}

struct State {
    /// Slots not held by anyone.
    free: usize,
    /// Slots one org may hold at once.
    org_cap: usize,
    /// Slots background queries may hold at once, and how many they hold.
    background_cap: usize,
    background_held: usize,
    /// Tickets number waiters in arrival order; grants number grants in the order given.
    next_ticket: u64,
    grants: u64,
    /// Orgs that wait or hold a slot.
    orgs: HashMap<Uuid, OrgQueue>,
    /// Waiters given a slot that have not yet taken it.
    granted: HashSet<u64>,
    wakers: HashMap<u64, Waker>,
}

#[derive(Default)]
struct OrgQueue {
    held: usize,
    /// The grant number of this org's latest slot; 0 for an org that came back after
    /// holding and waiting for nothing (it was using no share, so it goes first).
    last_grant: u64,
    interactive: VecDeque<u64>,
    background: VecDeque<u64>,
    /// Whose turn it is within the org when both kinds wait.
    background_next: bool,
}

impl OrgQueue {
    fn idle(&self) -> bool {
        self.held == 0 && self.interactive.is_empty() && self.background.is_empty()
    }

    /// Which of its waiters the org would start now, if any may start.
    fn next(&self, background_allowed: bool) -> Option<Priority> {
        let interactive = !self.interactive.is_empty();
        let background = background_allowed && !self.background.is_empty();
        match (interactive, background) {
            (true, true) if self.background_next => Some(Priority::Background),
            (true, _) => Some(Priority::Interactive),
            (false, true) => Some(Priority::Background),
            (false, false) => None,
        }
    }

    fn queue_ref(&self, priority: Priority) -> &VecDeque<u64> {
        match priority {
            Priority::Interactive => &self.interactive,
            Priority::Background => &self.background,
        }
    }

    fn queue(&mut self, priority: Priority) -> &mut VecDeque<u64> {
        match priority {
            Priority::Interactive => &mut self.interactive,
            Priority::Background => &mut self.background,
        }
    }
}

impl State {
    /// Hands free slots to waiters, fairest first; returns the wakers to wake.
    fn dispatch(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        while self.free > 0 {
            let background_allowed = self.background_held < self.background_cap;
            let choice = self
                .orgs
                .iter()
                .filter(|(_, queue)| queue.held < self.org_cap)
                .filter_map(|(org, queue)| {
                    let priority = queue.next(background_allowed)?;
                    let head = *queue.queue_ref(priority).front()?;
                    Some(((queue.held, queue.last_grant, head), *org, priority))
                })
                .min_by_key(|(key, _, _)| *key);
            let Some(((_, _, ticket), org, priority)) = choice else {
                break;
            };
            let queue = self.orgs.get_mut(&org).expect("chosen from the map");
            queue.queue(priority).pop_front();
            queue.held += 1;
            self.grants += 1;
            queue.last_grant = self.grants;
            queue.background_next = priority == Priority::Interactive;
            self.free -= 1;
            if priority == Priority::Background {
                self.background_held += 1;
            }
            self.granted.insert(ticket);
            if let Some(waker) = self.wakers.remove(&ticket) {
                wake.push(waker);
            }
        }
        wake
    }

    fn release(&mut self, org: Uuid, priority: Priority) -> Vec<Waker> {
        self.free += 1;
        if priority == Priority::Background {
            self.background_held -= 1;
        }
        if let Some(queue) = self.orgs.get_mut(&org) {
            queue.held -= 1;
            if queue.idle() {
                self.orgs.remove(&org);
            }
        }
        self.dispatch()
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

impl Slots {
    /// `slots` slots (at least one), background work holding at most half (at least one).
    pub(crate) fn new(slots: usize) -> Self {
        let slots = slots.max(1);
        Self {
            inner: Arc::new(Mutex::new(State {
                free: slots,
                org_cap: if slots >= 3 { slots - 1 } else { slots },
                background_cap: (slots / 2).max(1),
                background_held: 0,
                next_ticket: 0,
                grants: 0,
                orgs: HashMap::new(),
                granted: HashSet::new(),
                wakers: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements that may panic; a panic elsewhere
        // while holding the lock leaves nothing half-done worth refusing to go on over.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues for a slot for `org` at `priority`: the waiter takes its place now (before
    /// it is first polled) and leaves the queue when dropped.
    pub(crate) fn acquire(&self, org: Uuid, priority: Priority) -> Acquire {
        let (ticket, wake) = {
            let mut state = self.lock();
            state.next_ticket += 1;
            let ticket = state.next_ticket;
            state
                .orgs
                .entry(org)
                .or_default()
                .queue(priority)
                .push_back(ticket);
            (ticket, state.dispatch())
        };
        wake_all(wake);
        Acquire {
            slots: Some(self.clone()),
            org,
            priority,
            ticket,
        }
    }

    /// Slots nobody holds.
    #[cfg(test)]
    pub(crate) fn free(&self) -> usize {
        self.lock().free
    }

    /// Waiters in all queues.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        let state = self.lock();
        state
            .orgs
            .values()
            .map(|q| q.interactive.len() + q.background.len())
            .sum()
    }
}

/// A place in the queue; resolves to a [`Permit`] when a slot is handed to it.
pub(crate) struct Acquire {
    /// `None` once the permit is taken.
    slots: Option<Slots>,
    org: Uuid,
    priority: Priority,
    ticket: u64,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        let slots = this.slots.as_ref().expect("polled after completion");
        let mut state = slots.lock();
        if state.granted.remove(&this.ticket) {
            drop(state);
            let slots = this.slots.take().expect("checked above");
            return Poll::Ready(Permit {
                slots,
                org: this.org,
                priority: this.priority,
            });
        }
        state.wakers.insert(this.ticket, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Acquire {
    /// Leaves the queue; a slot handed over but not yet taken goes to the next waiter.
    fn drop(&mut self) {
        let Some(slots) = self.slots.take() else {
            return;
        };
        let wake = {
            let mut state = slots.lock();
            state.wakers.remove(&self.ticket);
            if state.granted.remove(&self.ticket) {
                state.release(self.org, self.priority)
            } else {
                if let Some(queue) = state.orgs.get_mut(&self.org) {
                    queue.queue(self.priority).retain(|t| *t != self.ticket);
                    if queue.idle() {
                        state.orgs.remove(&self.org);
                    }
                }
                Vec::new()
            }
        };
        wake_all(wake);
    }
}

/// A held slot; dropping it frees the slot for the next waiter.
pub(crate) struct Permit {
    slots: Slots,
    org: Uuid,
    priority: Priority,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let wake = self.slots.lock().release(self.org, self.priority);
        wake_all(wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// Polls once with a waker that does nothing.
    fn poll(acquire: &mut Acquire) -> Option<Permit> {
        match Pin::new(acquire).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(permit) => Some(permit),
            Poll::Pending => None,
        }
    }

    fn org(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Takes whichever of `waiters` has a slot now: their indices, in order.
    fn served(waiters: &mut [Option<Acquire>], held: &mut Vec<(usize, Permit)>) -> Vec<usize> {
        let mut now = Vec::new();
        for (i, waiter) in waiters.iter_mut().enumerate() {
            if let Some(acquire) = waiter
                && let Some(permit) = poll(acquire)
            {
                *waiter = None;
                held.push((i, permit));
                now.push(i);
            }
        }
        now
    }

    #[test]
    fn free_slots_are_taken_at_once_and_come_back_when_permits_drop() {
        let slots = Slots::new(2);
        let a = poll(&mut slots.acquire(org(1), Priority::Interactive)).unwrap();
        let b = poll(&mut slots.acquire(org(1), Priority::Interactive)).unwrap();
        assert_eq!(slots.free(), 0);
        let mut third = slots.acquire(org(1), Priority::Interactive);
        assert!(poll(&mut third).is_none());
        drop(a);
        assert_eq!(slots.free(), 0, "the freed slot went to the waiter");
        let c = poll(&mut third).unwrap();
        drop((b, c));
        assert_eq!(slots.free(), 2);
        assert!(slots.lock().orgs.is_empty(), "idle orgs leave no state");
        assert_eq!(Slots::new(0).free(), 1, "at least one slot");
    }

    /// One slot; org A queues five queries before org B queues one. B's query starts as the
    /// next one after A's running one, not behind A's queue.
    #[test]
    fn another_orgs_query_waits_behind_at_most_one_of_a_busy_orgs() {
        let slots = Slots::new(1);
        let (a, b) = (org(1), org(2));
        let mut held = Vec::new();
        let mut waiters: Vec<Option<Acquire>> = (0..5)
            .map(|_| Some(slots.acquire(a, Priority::Interactive)))
            .collect();
        waiters.push(Some(slots.acquire(b, Priority::Interactive)));
        waiters.push(Some(slots.acquire(a, Priority::Interactive)));
        let mut order = Vec::new();
        while waiters.iter().any(Option::is_some) {
            let now = served(&mut waiters, &mut held);
            assert_eq!(now.len(), 1, "one slot");
            order.extend(now);
            held.clear();
        }
        // A's first runs; B is next; then A's, in their order.
        assert_eq!(order, [0, 5, 1, 2, 3, 4, 6]);
    }

    /// With four slots, a busy org holds three; another org's query starts at once.
    #[test]
    fn a_busy_org_leaves_one_of_several_slots_for_another_org() {
        let slots = Slots::new(4);
        let (a, b) = (org(1), org(2));
        let mut held = Vec::new();
        let mut waiters: Vec<Option<Acquire>> = (0..6)
            .map(|_| Some(slots.acquire(a, Priority::Interactive)))
            .collect();
        assert_eq!(served(&mut waiters, &mut held), [0, 1, 2]);
        assert_eq!(slots.free(), 1, "one slot stays free for other orgs");
        waiters.push(Some(slots.acquire(b, Priority::Interactive)));
        assert_eq!(served(&mut waiters, &mut held), [6]);
        assert_eq!(slots.free(), 0);
    }

    /// Three orgs with queues, two slots: slots go round the orgs, fewest held first.
    #[test]
    fn slots_go_round_the_waiting_orgs() {
        let slots = Slots::new(2);
        let names = [org(1), org(2), org(3)];
        let mut held = Vec::new();
        // A takes both slots, then queues four more; B and C queue two each.
        let mut waiters: Vec<Option<Acquire>> = Vec::new();
        for _ in 0..6 {
            waiters.push(Some(slots.acquire(names[0], Priority::Interactive)));
        }
        for _ in 0..2 {
            waiters.push(Some(slots.acquire(names[1], Priority::Interactive)));
            waiters.push(Some(slots.acquire(names[2], Priority::Interactive)));
        }
        let org_of = |i: usize| match i {
            0..6 => 'A',
            _ if i.is_multiple_of(2) => 'B',
            _ => 'C',
        };
        assert_eq!(served(&mut waiters, &mut held), [0, 1]);
        let mut order = String::new();
        while waiters.iter().any(Option::is_some) {
            // The oldest held slot finishes.
            held.remove(0);
            let now = served(&mut waiters, &mut held);
            assert_eq!(now.len(), 1);
            order.push(org_of(now[0]));
        }
        // Both of A's running, so B and C first; then round the three, the org served
        // longest ago first, until only A waits.
        assert_eq!(order, "BCABCAAA");
    }

    #[test]
    fn a_waiter_that_gives_up_leaves_the_queue_and_a_slot_handed_to_it_goes_on() {
        let slots = Slots::new(1);
        let (a, b) = (org(1), org(2));
        let running = poll(&mut slots.acquire(a, Priority::Interactive)).unwrap();
        let mut gone = slots.acquire(b, Priority::Interactive);
        assert!(poll(&mut gone).is_none());
        let mut next = slots.acquire(a, Priority::Interactive);
        // Dropped while waiting: out of the queue.
        drop(gone);
        assert_eq!(slots.waiting(), 1);
        // Dropped after a slot was handed to it but before it took it: the slot goes on.
        let never_polled = slots.acquire(b, Priority::Interactive);
        drop(running);
        assert!(
            poll(&mut next).is_none(),
            "B (not served yet) was handed it"
        );
        drop(never_polled);
        let permit = poll(&mut next).expect("the slot went on to A");
        drop(permit);
        assert_eq!(slots.free(), 1);
        assert_eq!(slots.waiting(), 0);
        assert!(slots.lock().orgs.is_empty() && slots.lock().granted.is_empty());
    }

    #[test]
    fn background_work_holds_at_most_half_and_takes_every_other_turn_within_an_org() {
        let slots = Slots::new(4);
        let a = org(1);
        let mut held = Vec::new();
        let mut waiters: Vec<Option<Acquire>> = (0..4)
            .map(|_| Some(slots.acquire(a, Priority::Background)))
            .collect();
        // Two background queries run, two wait although two slots are free…
        assert_eq!(served(&mut waiters, &mut held), [0, 1]);
        assert_eq!(slots.free(), 2);
        // …which people take at once.
        let person = poll(&mut slots.acquire(a, Priority::Interactive)).unwrap();
        let _other = poll(&mut slots.acquire(org(2), Priority::Interactive)).unwrap();
        assert_eq!(slots.free(), 0);
        // A freed background slot goes to background work; a freed person's slot, with
        // both kinds waiting in the org, to whichever did not go last.
        waiters.push(Some(slots.acquire(a, Priority::Interactive)));
        waiters.push(Some(slots.acquire(a, Priority::Interactive)));
        held.remove(0);
        assert_eq!(served(&mut waiters, &mut held), [2]);
        drop(person);
        assert_eq!(
            served(&mut waiters, &mut held),
            [4],
            "background went last in A: a person's turn, and background is at its cap"
        );
        // Background slot frees: background's turn again.
        held.retain(|(i, _)| *i != 1);
        assert_eq!(served(&mut waiters, &mut held), [3]);
        assert_eq!(slots.waiting(), 1);
    }

    #[test]
    fn one_slot_is_shared_with_background_work() {
        let slots = Slots::new(1);
        let mut background = slots.acquire(org(1), Priority::Background);
        let permit = poll(&mut background).unwrap();
        let mut person = slots.acquire(org(1), Priority::Interactive);
        assert!(poll(&mut person).is_none());
        drop(permit);
        assert!(poll(&mut person).is_some());
    }

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_waiter_is_woken_when_its_slot_comes() {
        let slots = Slots::new(1);
        let running = poll(&mut slots.acquire(org(1), Priority::Interactive)).unwrap();
        let mut waiter = slots.acquire(org(2), Priority::Interactive);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        assert!(
            Pin::new(&mut waiter)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        drop(running);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(poll(&mut waiter).is_some());
    }
}
