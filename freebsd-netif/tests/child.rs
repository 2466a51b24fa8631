//! The in-jail child's logic (`child_run`) against a recording fake of its system calls, under a
//! counting allocator: it must perform the right calls in order, stop at the first failure, report
//! one record per step — and never allocate (it runs between fork(2) and _exit(2)).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use freebsd_netif::jailops::{
    ATTACH_INDEX, ChildSys, JailOp, JailOps, OpResult, RESULT_SIZE, SockKind, child_run,
};
use freebsd_netif::wire::{self, IfReq, InAliasReq, Wire};
use freebsd_netif::{Error, IfName};

struct Counting;

// Both per thread: tests run in parallel, and another test's allocations must not count here.
thread_local! {
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    if COUNT_HERE.with(Cell::get) {
        ALLOCS.with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations this thread made meanwhile.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    COUNT_HERE.with(|c| c.set(true));
    f();
    COUNT_HERE.with(|c| c.set(false));
    ALLOCS.with(Cell::get) - before
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Attach,
    Socket,
    Ioctl,
    Write,
}

#[derive(Clone, Copy)]
struct Call {
    kind: Kind,
    fd: i32,
    req: u32,
    len: usize,
    bytes: [u8; 320],
    /// For SIOCSIFNAME: the new name read through `ifr_data` during the call.
    newname: [u8; 16],
}

/// Records calls into pre-allocated storage (no allocation while recording).
struct Fake {
    calls: Vec<Call>,
    reports: Vec<[u8; RESULT_SIZE]>,
    next_fd: i32,
    kernel_flags: u32,
    /// Fail the n-th ioctl/write (0-based over both) with this errno.
    fail: Option<(usize, i32)>,
    attach_errno: Option<i32>,
    io_count: usize,
    /// IPv4 addresses the "kernel" has: (address, mask), network order.
    aliases: Vec<([u8; 4], [u8; 4])>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            calls: Vec::with_capacity(64),
            reports: Vec::with_capacity(64),
            next_fd: 10,
            kernel_flags: 0x8843, // UP|BROADCAST|RUNNING|SIMPLEX|MULTICAST minus UP below
            fail: None,
            attach_errno: None,
            io_count: 0,
            aliases: Vec::with_capacity(4),
        }
    }

    fn record(&mut self, kind: Kind, fd: i32, req: u32, b: &[u8]) {
        let mut bytes = [0u8; 320];
        bytes[..b.len()].copy_from_slice(b);
        self.calls.push(Call {
            kind,
            fd,
            req,
            len: b.len(),
            bytes,
            newname: [0; 16],
        });
    }

    fn io_result(&mut self) -> Result<(), i32> {
        let n = self.io_count;
        self.io_count += 1;
        match self.fail {
            Some((at, e)) if at == n => Err(e),
            _ => Ok(()),
        }
    }
}

impl ChildSys for Fake {
    fn jail_attach(&mut self, jid: i32) -> Result<(), i32> {
        self.record(Kind::Attach, jid, 0, &[]);
        match self.attach_errno {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn socket(&mut self, kind: SockKind) -> Result<i32, i32> {
        let fd = self.next_fd;
        self.next_fd += 1;
        self.record(Kind::Socket, fd, kind as u32, &[]);
        Ok(fd)
    }

    fn ioctl<T: Wire>(&mut self, fd: i32, req: u32, arg: &mut T) -> Result<(), i32> {
        // The ioctl number must encode the size of the struct actually passed.
        assert_eq!(
            ((req >> 16) & wire::IOCPARM_MASK) as usize,
            std::mem::size_of::<T>(),
            "ioctl {req:#x}"
        );
        if req == wire::SIOCGIFFLAGS {
            // The "kernel" answers with the interface's flags (UP clear).
            let f = self.kernel_flags & !wire::IFF_UP;
            let b = arg.as_bytes_mut();
            b[16..18].copy_from_slice(&(f as u16).to_ne_bytes());
            b[18..20].copy_from_slice(&((f >> 16) as u16).to_ne_bytes());
        }
        self.record(Kind::Ioctl, fd, req, arg.as_bytes());
        if req == wire::SIOCGIFALIAS {
            // in.c in_gifaddr_ioctl: the address's mask, or EADDRNOTAVAIL.
            self.io_result()?;
            let b = arg.as_bytes_mut();
            let addr: [u8; 4] = b[20..24].try_into().unwrap();
            return match self.aliases.iter().find(|(a, _)| *a == addr) {
                Some((_, m)) => {
                    b[52..56].copy_from_slice(m);
                    Ok(())
                }
                None => Err(libc::EADDRNOTAVAIL),
            };
        }
        if req == wire::SIOCSIFNAME {
            let r = IfReq::from_bytes(arg.as_bytes()).unwrap();
            // SAFETY: the child points ifr_data at a 16-byte array on its stack, live for the
            // duration of this call.
            let name = unsafe { std::ptr::read(r.data() as *const [u8; 16]) };
            if let Some(last) = self.calls.last_mut() {
                last.newname = name;
            }
        }
        self.io_result()
    }

    fn write(&mut self, fd: i32, bytes: &[u8]) -> Result<(), i32> {
        self.record(Kind::Write, fd, 0, bytes);
        self.io_result()
    }

    fn report(&mut self, record: [u8; RESULT_SIZE]) {
        self.reports.push(record);
    }
}

fn standard_ops() -> JailOps {
    let b = IfName::new("epair0b").unwrap();
    let mut ops = JailOps::new();
    ops.loopback()
        .up(&b)
        .add_address(&b, "10.0.0.2/24".parse().unwrap())
        .default_route("10.0.0.1".parse().unwrap())
        .unwrap();
    ops
}

fn records(f: &Fake) -> Vec<u8> {
    f.reports.iter().flatten().copied().collect()
}

#[test]
fn performs_every_step_in_order_without_allocating() {
    let ops = standard_ops();
    let mut fake = Fake::new();
    let mut status = -1;
    let n = allocations_during(|| status = child_run(&mut fake, 7, ops.encoded()));
    assert_eq!(n, 0, "the child allocated {n} times");
    assert_eq!(status, 0);

    let kinds: Vec<Kind> = fake.calls.iter().map(|c| c.kind).collect();
    use Kind::*;
    assert_eq!(
        kinds,
        [
            Attach, Socket, Ioctl, Ioctl, Ioctl, Ioctl, Ioctl, Ioctl, Ioctl, Ioctl, Socket, Write
        ]
    );
    assert_eq!(fake.calls[0].fd, 7, "jail_attach(jid)");
    assert_eq!(fake.calls[1].req, SockKind::Inet as u32);
    let inet = fake.calls[1].fd;
    // lo0 up: SIOCGIFFLAGS, then SIOCSIFFLAGS with the kernel's flags plus IFF_UP.
    assert_eq!(fake.calls[2].req, wire::SIOCGIFFLAGS);
    assert_eq!(&fake.calls[2].bytes[..4], b"lo0\0");
    let set = IfReq::from_bytes(&fake.calls[3].bytes[..32]).unwrap();
    assert_eq!(fake.calls[3].req, wire::SIOCSIFFLAGS);
    assert_eq!(set.flags(), 0x8843 | wire::IFF_UP);
    // 127.0.0.1/8 on lo0 through the same (cached) AF_INET socket: looked up first
    // (SIOCGIFALIAS), added since the "kernel" does not have it.
    assert_eq!(fake.calls[4].req, wire::SIOCGIFALIAS);
    assert_eq!(fake.calls[5].req, wire::SIOCAIFADDR);
    assert_eq!(fake.calls[5].fd, inet);
    assert_eq!(fake.calls[5].len, 68);
    let r = InAliasReq::from_bytes(&fake.calls[5].bytes[..68]).unwrap();
    assert_eq!(r.ifra_addr.addr().to_string(), "127.0.0.1");
    // epair0b up, then its address.
    assert_eq!(&fake.calls[6].bytes[..8], b"epair0b\0");
    assert_eq!(fake.calls[8].req, wire::SIOCGIFALIAS);
    assert_eq!(fake.calls[9].req, wire::SIOCAIFADDR);
    // The route goes to a PF_ROUTE socket, byte for byte as encoded.
    assert_eq!(fake.calls[10].req, SockKind::Route as u32);
    assert_eq!(fake.calls[11].fd, fake.calls[10].fd);
    assert_eq!(fake.calls[11].len, 200);
    assert_eq!(&fake.calls[11].bytes[..4], &[200, 0, 5, 1]);

    // The attach record, then one per step.
    assert_eq!(fake.reports.len(), 6);
    assert_eq!(
        OpResult::decode(&fake.reports[0]).unwrap(),
        OpResult {
            index: ATTACH_INDEX,
            errno: 0
        }
    );
    assert!(ops.interpret(7, &records(&fake), "exit status 0").is_ok());
}

#[test]
fn stops_at_the_first_failure_and_reports_it() {
    let ops = standard_ops();
    let mut fake = Fake::new();
    // ioctls: 0 lo0 get, 1 lo0 set, 2 lo0 alias lookup, 3 lo0 addr, 4 epair0b get -> ENXIO
    fake.fail = Some((4, libc::ENXIO));
    let mut status = -1;
    let n = allocations_during(|| status = child_run(&mut fake, 7, ops.encoded()));
    assert_eq!(n, 0);
    assert_eq!(status, 1);
    assert_eq!(
        fake.reports.len(),
        4,
        "attach, steps 0, 1 ok; step 2 failed; nothing after"
    );
    assert_eq!(
        OpResult::decode(&fake.reports[3]).unwrap(),
        OpResult {
            index: 2,
            errno: libc::ENXIO
        }
    );
    assert!(
        !fake.calls.iter().any(|c| c.kind == Kind::Write),
        "no route"
    );
    let e = ops
        .interpret(7, &records(&fake), "exit status 1")
        .unwrap_err();
    match e {
        Error::InJail {
            jid: 7,
            index: 2,
            ref source,
        } => {
            assert!(
                matches!(**source, Error::NoSuchInterface { ref name, .. } if name == "epair0b")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn route_failure_is_typed() {
    let ops = standard_ops();
    let mut fake = Fake::new();
    fake.fail = Some((8, libc::EEXIST)); // the write is the 9th io call
    assert_eq!(child_run(&mut fake, 3, ops.encoded()), 1);
    let e = ops
        .interpret(3, &records(&fake), "exit status 1")
        .unwrap_err();
    assert!(e.to_string().contains("default via 10.0.0.1"), "{e}");
    assert!(
        matches!(e, Error::InJail { index: 4, ref source, .. } if matches!(**source, Error::RouteExists { .. }))
    );
}

#[test]
fn attach_failure_is_the_only_report() {
    let ops = standard_ops();
    let mut fake = Fake::new();
    fake.attach_errno = Some(libc::EINVAL);
    let n = allocations_during(|| assert_eq!(child_run(&mut fake, 99, ops.encoded()), 1));
    assert_eq!(n, 0);
    assert_eq!(fake.calls.len(), 1);
    assert_eq!(
        OpResult::decode(&fake.reports[0]).unwrap().index,
        ATTACH_INDEX
    );
    assert!(matches!(
        ops.interpret(99, &records(&fake), "exit status 1"),
        Err(Error::Attach { jid: 99, .. })
    ));
}

/// An address the interface has already: with the same mask nothing is sent (SIOCAIFADDR would
/// delete and re-add it, dropping the routes through it — in.c in_aifaddr_ioctl); with another
/// mask the step fails as AddressExists, again without SIOCAIFADDR.
#[test]
fn an_existing_address_is_not_added_again() {
    let b = IfName::new("epair0b").unwrap();
    let mut ops = JailOps::new();
    ops.add_address(&b, "10.0.0.2/24".parse().unwrap());
    let mut fake = Fake::new();
    fake.aliases.push(([10, 0, 0, 2], [255, 255, 255, 0]));
    let n = allocations_during(|| assert_eq!(child_run(&mut fake, 1, ops.encoded()), 0));
    assert_eq!(n, 0);
    assert!(fake.calls.iter().any(|c| c.req == wire::SIOCGIFALIAS));
    assert!(!fake.calls.iter().any(|c| c.req == wire::SIOCAIFADDR));
    assert!(ops.interpret(1, &records(&fake), "exit status 0").is_ok());

    let mut fake = Fake::new();
    fake.aliases.push(([10, 0, 0, 2], [255, 255, 0, 0]));
    assert_eq!(child_run(&mut fake, 1, ops.encoded()), 1);
    assert!(!fake.calls.iter().any(|c| c.req == wire::SIOCAIFADDR));
    let e = ops
        .interpret(1, &records(&fake), "exit status 1")
        .unwrap_err();
    assert!(
        matches!(e, Error::InJail { index: 0, ref source, .. } if matches!(**source, Error::AddressExists { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("another prefix"), "{e}");
}

#[test]
fn rename_points_ifr_data_at_the_new_name() {
    let mut ops = JailOps::new();
    ops.push(JailOp::Rename(
        IfName::new("epair0b").unwrap(),
        IfName::new("eth0").unwrap(),
    ))
    .unwrap();
    let mut fake = Fake::new();
    assert_eq!(child_run(&mut fake, 1, ops.encoded()), 0);
    let call = fake
        .calls
        .iter()
        .find(|c| c.req == wire::SIOCSIFNAME)
        .unwrap();
    assert_eq!(&call.bytes[..8], b"epair0b\0");
    assert_eq!(&call.newname[..5], b"eth0\0");
}

#[test]
fn ipv6_steps_use_an_inet6_socket() {
    let mut ops = JailOps::new();
    let n = IfName::new("epair0b").unwrap();
    ops.add_address(&n, "2001:db8::2/64".parse().unwrap());
    ops.push(JailOp::DeleteInet6(n, "2001:db8::2".parse().unwrap()))
        .unwrap();
    let mut fake = Fake::new();
    let calls = allocations_during(|| assert_eq!(child_run(&mut fake, 1, ops.encoded()), 0));
    assert_eq!(calls, 0);
    assert_eq!(fake.calls[1].req, SockKind::Inet6 as u32);
    assert_eq!(fake.calls[2].req, wire::SIOCAIFADDR_IN6);
    assert_eq!(fake.calls[2].len, 136);
    assert_eq!(fake.calls[3].req, wire::SIOCDIFADDR_IN6);
    assert_eq!(fake.calls[3].len, 288);
    assert_eq!(
        fake.calls.iter().filter(|c| c.kind == Kind::Socket).count(),
        1
    );
}

#[test]
fn malformed_list_fails_its_step_with_einval() {
    let mut bytes = standard_ops().encoded().to_vec();
    bytes[40] = 200; // the second record's kind
    let mut fake = Fake::new();
    assert_eq!(child_run(&mut fake, 1, &bytes), 1);
    assert_eq!(fake.reports.len(), 3);
    assert_eq!(
        OpResult::decode(&fake.reports[2]).unwrap(),
        OpResult {
            index: 1,
            errno: libc::EINVAL
        }
    );
}

#[test]
fn the_allocation_counter_sees_allocations() {
    // Guards the zero-allocation assertions above against a counter that never counts.
    let n = allocations_during(|| {
        let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(32));
        drop(v);
    });
    assert!(n >= 1);
    let ops = standard_ops();
    let mut fake = Fake::new();
    // Building a list allocates; running one does not.
    assert!(allocations_during(|| drop(std::hint::black_box(standard_ops()))) > 0);
    assert_eq!(
        allocations_during(|| {
            child_run(&mut fake, 1, ops.encoded());
        }),
        0
    );
}
