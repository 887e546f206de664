//! Which CPU the container's init starts on: the one the runtime runs on.
//!
//! A new process goes to the runqueue the kernel picks for it when it is
//! forked: the idlest CPU, normally one that is asleep. On real hardware a
//! sleeping CPU wakes in microseconds; in a virtual machine (where students
//! run glassbox) a sleeping vCPU is a host thread the host must schedule
//! again, and here that took 0.4-0.6 ms: the init, the one process every
//! start waits for, began that much after its `clone`.
//!
//! So, around the `clone` ([`super::start`]), the runtime pins itself to the
//! CPU it runs on (`sched_setaffinity`; a child inherits its parent's CPU
//! mask), which the init then starts on at once: that CPU is awake. The init
//! gives itself the whole mask back first thing ([`Pinned::release`]); it
//! stays where it is, since that CPU is still allowed. The runtime moves to
//! the other CPUs ([`Pinned::step_aside`]), where what it does while the init
//! sets up (on cgroup v1, the cgroup) can wait for a CPU to wake, and takes
//! the whole mask back too. Nothing of this outlives the start: the
//! container's program gets the CPU mask the runtime was started with (and
//! the one its cgroup's cpuset allows), and so does a child the runtime
//! forks meanwhile (a `--rm` run's reaper: [`unpin_forked_child`]).
//!
//! Where only one CPU is allowed there is nothing to choose, and nothing is
//! done.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// The mask this process had before [`Pinned::to_this_cpu`], while pinned.
static BEFORE_PIN: std::sync::Mutex<Option<CpuSet>> = std::sync::Mutex::new(None);

/// In a child just forked while its parent was pinned or stepped aside: the
/// parent's mask from before, which the child would otherwise keep for its
/// whole life (a mask is inherited). Nothing where the parent was not.
pub fn unpin_forked_child() {
    let before = *BEFORE_PIN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(mask) = before {
        let _ = sched_setaffinity(Pid::from_raw(0), &mask);
    }
}

/// This process pinned to one CPU, with the mask it had before.
#[derive(Debug)]
pub struct Pinned {
    original: CpuSet,
    cpu: usize,
}

/// The CPUs of `set`, in order.
fn cpus(set: &CpuSet) -> impl Iterator<Item = usize> + '_ {
    (0..CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false))
}

impl Pinned {
    /// Pins this process to the CPU it runs on, where its mask allows more
    /// than one; `None` (nothing changed) otherwise, or where the kernel
    /// refuses.
    pub fn to_this_cpu() -> Option<Pinned> {
        let original = sched_getaffinity(Pid::from_raw(0)).ok()?;
        // One CPU allowed: nothing to choose.
        cpus(&original).nth(1)?;
        // SAFETY: sched_getcpu takes no arguments and only reads.
        let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).ok()?;
        if !original.is_set(cpu).unwrap_or(false) {
            return None;
        }
        let mut one = CpuSet::new();
        one.set(cpu).ok()?;
        sched_setaffinity(Pid::from_raw(0), &one).ok()?;
        *BEFORE_PIN.lock().unwrap_or_else(|e| e.into_inner()) = Some(original);
        Some(Pinned { original, cpu })
    }

    /// The CPU this process was pinned to.
    pub fn cpu(&self) -> usize {
        self.cpu
    }

    /// The runtime, after the `clone`: leaves the pinned CPU to the init and
    /// moves to the others of its mask. Says where it went.
    pub fn step_aside(&self) -> String {
        let mut others = self.original;
        if others.unset(self.cpu).is_err() || sched_setaffinity(Pid::from_raw(0), &others).is_err()
        {
            return format!("stayed on CPU {}", self.cpu);
        }
        let list: Vec<String> = cpus(&others).map(|c| c.to_string()).collect();
        format!(
            "sched_setaffinity: CPU {} is the init's, this process moves to CPU {}",
            self.cpu,
            list.join(",")
        )
    }

    /// The whole mask back (the init first thing; the runtime after it
    /// stepped aside, or when dropped). A process on an allowed CPU stays
    /// there.
    pub fn release(&self) {
        let _ = sched_setaffinity(Pid::from_raw(0), &self.original);
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.release();
        *BEFORE_PIN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask() -> Vec<usize> {
        cpus(&sched_getaffinity(Pid::from_raw(0)).unwrap()).collect()
    }

    /// Runs in a thread: the mask is a thread's, and the test harness's
    /// other threads keep theirs.
    #[test]
    fn pinning_steps_aside_and_gives_the_mask_back() {
        std::thread::spawn(|| {
            let before = mask();
            let Some(pinned) = Pinned::to_this_cpu() else {
                assert_eq!(before.len(), 1, "pinning refused with {before:?}");
                return;
            };
            assert_eq!(mask(), [pinned.cpu()], "pinned to one CPU");
            let said = pinned.step_aside();
            let aside = mask();
            assert!(!aside.contains(&pinned.cpu()), "{said}: {aside:?}");
            assert_eq!(aside.len(), before.len() - 1, "{said}");
            pinned.release();
            assert_eq!(mask(), before, "the whole mask back");
        })
        .join()
        .unwrap();
    }
}
