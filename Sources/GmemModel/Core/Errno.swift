/// Kernel errno values the modelled paths return (include/uapi/asm-generic/errno-base.h, errno.h).
public enum Errno: Int32, Sendable, CaseIterable {
    case EPERM = 1, ENOENT = 2, EINTR = 4, EIO = 5, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
         EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22,
         ENOSPC = 28, ENOTTY = 25, E2BIG = 7, ENOSYS = 38, EOPNOTSUPP = 95, EHWPOISON = 133

    public var name: String {
        switch self {
        case .EPERM: "EPERM"
        case .ENOENT: "ENOENT"
        case .EINTR: "EINTR"
        case .EIO: "EIO"
        case .EBADF: "EBADF"
        case .EAGAIN: "EAGAIN"
        case .ENOMEM: "ENOMEM"
        case .EACCES: "EACCES"
        case .EFAULT: "EFAULT"
        case .EBUSY: "EBUSY"
        case .EEXIST: "EEXIST"
        case .ENODEV: "ENODEV"
        case .EINVAL: "EINVAL"
        case .ENOSPC: "ENOSPC"
        case .ENOTTY: "ENOTTY"
        case .E2BIG: "E2BIG"
        case .ENOSYS: "ENOSYS"
        case .EOPNOTSUPP: "EOPNOTSUPP"
        case .EHWPOISON: "EHWPOISON"
        }
    }

    public init?(name: String) {
        guard let e = Errno.allCases.first(where: { $0.name == name }) else { return nil }
        self = e
    }
}

/// What a modelled syscall / guest access returned to its caller.
public enum SysResult: Equatable, Sendable {
    case ok
    /// An errno; `errorOffset` in pages where the uAPI reports one (KVM_SET_MEMORY_ATTRIBUTES2).
    case err(Errno, errorOffset: Int? = nil)
    /// A byte read by the host or the guest.
    case value(UInt8)
    /// A count (populate: pages done).
    case count(Int)
    /// The accessing host task got SIGBUS / SIGSEGV.
    case sigbus
    case sigsegv
    /// KVM_RUN returned to userspace with this exit.
    case exit(VMExit)
    /// The harness skipped the op: a handle it names does not exist (not a kernel result).
    case skipped

    public var text: String {
        switch self {
        case .ok: "ok"
        case .err(let e, let off): off.map { "\(e.name)@\($0)" } ?? e.name
        case .value(let v): "0x" + hex2(v)
        case .count(let n): "count:\(n)"
        case .sigbus: "SIGBUS"
        case .sigsegv: "SIGSEGV"
        case .exit(let x): "exit:\(x.rawValue)"
        case .skipped: "skipped"
        }
    }
}

public enum VMExit: String, Sendable {
    /// KVM_EXIT_MEMORY_FAULT (KVM_RUN returns -EFAULT)
    case memoryFault = "memory_fault"
    /// KVM_EXIT_MMIO (no memslot, shared gpa)
    case mmio = "mmio"
    /// KVM_EXIT_HYPERCALL KVM_HC_MAP_GPA_RANGE
    case hypercall = "hypercall"
}

@inline(__always) func hex2(_ v: UInt8) -> String {
    let d: [Character] = ["0","1","2","3","4","5","6","7","8","9","a","b","c","d","e","f"]
    return String([d[Int(v >> 4)], d[Int(v & 15)]])
}
