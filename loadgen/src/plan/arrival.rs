//! When a delivery arrived, as the kernel saw it: the receive timestamps (`SO_TIMESTAMPNS`) a
//! light worker's sockets ask for. The kernel stamps each segment as it enters the receiving
//! socket, and each read returns the stamp of the last segment it took. The engine's reading
//! (`engine::reading`) counts a delivery from no earlier than that: a line is not received
//! before its last byte.
//!
//! The kernel stamps on the real-time clock, the run on the monotonic one. A stamp is converted
//! by its age: the real-time clock is read right after the monotonic one, and the arrival is the
//! monotonic "now" less the stamp's age on the real-time clock. Only a step of the real-time
//! clock could bend that, so [`Arrivals`] watches the offset between the two clocks (NTP's
//! slewing moves both alike) and, once it jumps, counts every stamp from before the jump was
//! seen from its read time. Where the
//! kernel gives no stamp, the read time is used too (the kernel turns stamping on for the
//! machine in deferred work when the first socket asks, so the first segments after that may
//! come unstamped: they are the warm-up's); a stamp is never later than the read.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::RawFd;

/// Asks the kernel to stamp what arrives on `fd`.
pub fn enable(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid option value of the size we pass, on a socket the caller owns.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A stamp on the real-time clock, nanoseconds since the epoch.
pub type RealNs = i128;

/// Reads into `buf` once (non-blocking); returns the bytes read and, when `stamped`, the
/// kernel's receive stamp of the last segment taken, if it gave one.
pub fn recv(fd: RawFd, buf: &mut [u8], stamped: bool) -> io::Result<(usize, Option<RealNs>)> {
    if !stamped {
        // SAFETY: buf is ours, of the length we pass.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        return if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok((n as usize, None))
        };
    }
    // Room for one SCM_TIMESTAMPNS (a timespec) and then some.
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 8]>() as _;
    // SAFETY: msg points at a buffer and a control area we own, of the lengths given.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the CMSG macros walk the control area the kernel filled, within msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                if ts.tv_sec != 0 || ts.tv_nsec != 0 {
                    stamp = Some(ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128);
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp))
}

/// The real-time clock now.
pub fn real_now() -> RealNs {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// How far the two clocks' offset may move between two reads before it counts as a step of
/// the real-time clock. NTP's slewing moves both clocks alike (the monotonic clock is slewed
/// too), so the offset moves only when the real-time clock is stepped; the 100 µs are for the
/// two clocks being read one after the other (a preemption between them makes a false step,
/// which costs no more than counting one read from its read time).
const STEP_NS: i128 = 100_000;

/// A worker expecting to read at most this many deliveries per second has its bots' sockets
/// stamped by the kernel; above it, the `recvmsg` per read would cost about a tenth more CPU
/// per delivery, and deliveries count from their read.
pub const STAMPED_DELIVERIES_PER_S: f64 = 100_000.0;

/// Converts kernel stamps to the run's clock, one worker's reads in turn.
#[derive(Debug, Default)]
pub struct Arrivals {
    /// Whether this worker's sockets are stamped.
    stamped: bool,
    /// The real-time clock less the monotonic one at the last read.
    offset: Option<RealNs>,
    /// The real-time clock when a step of it was last noticed: a stamp from before then may
    /// be on the clock from before the step.
    stepped_at: Option<RealNs>,
}

impl Arrivals {
    /// For a worker expecting `deliveries_per_s`: stamped when it is light enough.
    pub fn for_load(deliveries_per_s: f64) -> Arrivals {
        Arrivals {
            stamped: deliveries_per_s <= STAMPED_DELIVERIES_PER_S,
            ..Arrivals::default()
        }
    }

    /// Whether this worker's sockets are stamped.
    pub fn stamped(&self) -> bool {
        self.stamped
    }

    /// The arrival (µs on the run's clock) of what a read returned at `read_us` (run's clock)
    /// and `read_real` (the real-time clock, read right after), stamped `stamp` by the kernel.
    /// Never later than the read, never before it by more than the stamp's age; the read time
    /// for a stamp that may predate a step of the real-time clock.
    pub fn arrival_us(&mut self, read_us: u64, read_real: RealNs, stamp: Option<RealNs>) -> u64 {
        let offset = read_real - read_us as i128 * 1_000;
        if self
            .offset
            .is_some_and(|before| (offset - before).abs() > STEP_NS)
        {
            self.stepped_at = Some(read_real);
        }
        self.offset = Some(offset);
        match stamp {
            // After a step backwards the old clock's stamps are later than the read: age 0.
            Some(at) if self.stepped_at.is_none_or(|step| at >= step) => {
                let age_us = ((read_real - at).max(0) / 1_000) as u64;
                read_us.saturating_sub(age_us)
            }
            _ => read_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    const S: RealNs = 1_000_000_000;

    /// A receiving socket and the socket that sends to it, over loopback.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let rx = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (tx, _) = listener.accept().unwrap();
        (rx, tx)
    }

    #[test]
    fn an_arrival_is_the_read_less_the_stamps_age() {
        let mut a = Arrivals::default();
        assert_eq!(
            a.arrival_us(10_000, 1_000 * S, Some(1_000 * S - 2_500_000)),
            7_500
        );
    }

    #[test]
    fn no_stamp_means_the_read_time() {
        let mut a = Arrivals::default();
        assert_eq!(a.arrival_us(10_000, 1_000 * S, None), 10_000);
    }

    #[test]
    fn a_stamp_after_the_read_is_the_read_time() {
        let mut a = Arrivals::default();
        assert_eq!(
            a.arrival_us(10_000, 1_000 * S, Some(1_000 * S + 5_000)),
            10_000
        );
    }

    #[test]
    fn a_stamp_older_than_the_clock_is_held_at_its_start() {
        let mut a = Arrivals::default();
        assert_eq!(a.arrival_us(1_000, 1_000 * S, Some(999 * S)), 0);
    }

    #[test]
    fn a_stamp_from_before_a_step_of_the_real_time_clock_counts_from_its_read() {
        let mut a = Arrivals::default();
        a.arrival_us(10_000, 1_000 * S, None);
        // 1 ms later on the monotonic clock, 51 ms later on the real-time one: stepped.
        let real = 1_000 * S + 51_000_000;
        assert_eq!(a.arrival_us(11_000, real, Some(real - 3_000_000)), 11_000);
        // Later reads, in step with the new offset: a stamp from before the step was noticed
        // may be on the old clock; one after it is trusted.
        let later = real + 1_000_000;
        assert_eq!(a.arrival_us(12_000, later, Some(real - 200_000)), 12_000);
        assert_eq!(a.arrival_us(12_000, later, Some(later - 500_000)), 11_500);
    }

    #[test]
    fn a_steady_offset_is_trusted_however_far_apart_the_reads() {
        let mut a = Arrivals::default();
        a.arrival_us(0, 1_000 * S, None);
        let real = 1_010 * S;
        assert_eq!(
            a.arrival_us(10_000_000, real, Some(real - 1_000_000)),
            9_999_000
        );
    }

    #[test]
    fn the_kernel_stamps_a_loopback_delivery_before_it_is_read() {
        let (rx, mut tx) = pair();
        enable(rx.as_raw_fd()).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // The kernel turns stamping on for the whole machine in deferred work (a kernel worker
        // thread) when the first socket asks: the segments until it has run come unstamped (and
        // then count from their read). On two cores busy with other tests that thread may wait
        // a while for a core, so the tries are bounded in time, not in number, and each one
        // waits for its bytes and then yields the core.
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < give_up {
            let before = real_now();
            tx.write_all(b"hello\n").unwrap();
            // Wait for the bytes with a blocking peek, then take them with the stamped read.
            rx.peek(&mut [0u8; 1]).unwrap();
            let after = real_now();
            let mut buf = [0u8; 64];
            let (n, stamp) = recv(rx.as_raw_fd(), &mut buf, true).unwrap();
            assert_eq!(&buf[..n], b"hello\n");
            if let Some(stamp) = stamp {
                assert!(
                    (before..=after).contains(&stamp),
                    "stamp {stamp} not between the write ({before}) and the peek's return ({after})"
                );
                return;
            }
            std::thread::yield_now();
        }
        panic!("the kernel never stamped a loopback delivery in 30 s of tries");
    }

    #[test]
    fn a_light_worker_is_stamped_and_a_heavy_one_is_not() {
        assert!(Arrivals::for_load(40_000.0).stamped());
        assert!(!Arrivals::for_load(500_000.0).stamped());
    }

    #[test]
    fn an_unstamped_read_gives_no_stamp() {
        let (rx, mut tx) = pair();
        enable(rx.as_raw_fd()).unwrap();
        tx.write_all(b"hi\n").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        rx.peek(&mut [0u8; 1]).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(recv(rx.as_raw_fd(), &mut buf, false).unwrap(), (3, None));
        assert_eq!(&buf[..3], b"hi\n");
    }

    #[test]
    fn nothing_to_read_would_block() {
        let (rx, _tx) = pair();
        let err = recv(rx.as_raw_fd(), &mut [0u8; 16], true).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}
