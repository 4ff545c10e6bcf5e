/// A SEAMCALL completion status (RAX). Values from arch/x86/kvm/vmx/tdx_errno.h and the TDX
/// module's error_codes_defs.h (intel/tdx-module); bits 31:0 carry the operand id.
public struct TdxStatus: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }

    public static let success = TdxStatus(0)
    public static let interruptedResumable = TdxStatus(0x8000_0003_0000_0000)
    public static let interruptedRestartable = TdxStatus(0x8000_0004_0000_0000)
    public static let operandInvalid = TdxStatus(0xC000_0100_0000_0000)
    public static let operandBusy = TdxStatus(0x8000_0200_0000_0000)
    public static let previousTlbEpochBusy = TdxStatus(0x8000_0201_0000_0000)
    public static let pageMetadataIncorrect = TdxStatus(0xC000_0300_0000_0000)
    public static let lifecycleStateIncorrect = TdxStatus(0xC000_0607_0000_0000)
    public static let opStateIncorrect = TdxStatus(0xC000_0608_0000_0000)
    public static let flushvpNotDone = TdxStatus(0x8000_0824_0000_0000)
    public static let eptWalkFailed = TdxStatus(0xC000_0B00_0000_0000)
    public static let eptEntryStateIncorrect = TdxStatus(0xC000_0B0D_0000_0000)
    public static let gpaRangeNotBlocked = TdxStatus(0xC000_0B06_0000_0000)
    public static let gpaRangeAlreadyBlocked = TdxStatus(0x0000_0B07_0000_0000)
    public static let tlbTrackingNotDone = TdxStatus(0xC000_0B08_0000_0000)
    public static let pageAlreadyAccepted = TdxStatus(0x0000_0B0A_0000_0000)
    public static let pageSizeMismatch = TdxStatus(0xC000_0B0B_0000_0000)

    /// Operand ids (bits 31:0).
    public static let operandRCX: UInt64 = 0x01
    public static let operandTDR: UInt64 = 0x80
    public static let operandSEPT: UInt64 = 0x92
    public static let operandTDEpoch: UInt64 = 0xa9

    public func with(operand: UInt64) -> TdxStatus { TdxStatus(raw | operand) }
    /// TDX_SEAMCALL_STATUS_MASK
    public var status: TdxStatus { TdxStatus(raw & 0xFFFF_FFFF_0000_0000) }
    public var isSuccess: Bool { raw == 0 }
    /// tdx_operand_busy(): compares only the status (upper 32 bits) with TDX_OPERAND_BUSY, so
    /// TDX_PREVIOUS_TLB_EPOCH_BUSY is *not* busy for KVM.
    public var isOperandBusy: Bool { status == .operandBusy }

    public var description: String {
        let names: [(TdxStatus, String)] = [
            (.success, "TDX_SUCCESS"), (.interruptedResumable, "TDX_INTERRUPTED_RESUMABLE"),
            (.interruptedRestartable, "TDX_INTERRUPTED_RESTARTABLE"), (.operandInvalid, "TDX_OPERAND_INVALID"),
            (.operandBusy, "TDX_OPERAND_BUSY"), (.previousTlbEpochBusy, "TDX_PREVIOUS_TLB_EPOCH_BUSY"),
            (.pageMetadataIncorrect, "TDX_PAGE_METADATA_INCORRECT"),
            (.lifecycleStateIncorrect, "TDX_LIFECYCLE_STATE_INCORRECT"), (.opStateIncorrect, "TDX_OP_STATE_INCORRECT"),
            (.flushvpNotDone, "TDX_FLUSHVP_NOT_DONE"), (.eptWalkFailed, "TDX_EPT_WALK_FAILED"),
            (.eptEntryStateIncorrect, "TDX_EPT_ENTRY_STATE_INCORRECT"), (.gpaRangeNotBlocked, "TDX_GPA_RANGE_NOT_BLOCKED"),
            (.gpaRangeAlreadyBlocked, "TDX_GPA_RANGE_ALREADY_BLOCKED"), (.tlbTrackingNotDone, "TDX_TLB_TRACKING_NOT_DONE"),
            (.pageAlreadyAccepted, "TDX_PAGE_ALREADY_ACCEPTED"), (.pageSizeMismatch, "TDX_PAGE_SIZE_MISMATCH"),
        ]
        let s = status
        let name = names.first { $0.0 == s }?.1 ?? "0x" + String(s.raw, radix: 16)
        let op = raw & 0xFFFF_FFFF
        return op == 0 ? name : "\(name)|0x\(String(op, radix: 16))"
    }
}

/// The SEAMCALLs `inject seamcall=NAME` can fail (names as in the scenario format).
public enum Seamcall: String, CaseIterable, Sendable {
    case septAdd = "SEPT.ADD"
    case pageAdd = "PAGE.ADD"
    case mrExtend = "MR.EXTEND"
    case mrFinalize = "MR.FINALIZE"
    case pageAug = "PAGE.AUG"
    case rangeBlock = "RANGE.BLOCK"
    case track = "TRACK"
    case pageRemove = "PAGE.REMOVE"
    case wbinvd = "PHYMEM.PAGE.WBINVD"
    case reclaim = "PHYMEM.PAGE.RECLAIM"
    case demote = "PAGE.DEMOTE"
    case vpInit = "VP.INIT"

    /// The module lock mode on the TDR (tdx-semantics §1.2: "TDR sh/ex").
    var tdrMode: LockMode? {
        switch self {
        case .pageAdd, .mrExtend, .mrFinalize, .vpInit: .exclusive   // VP.INIT v1: TDR ex since 1.5.05
        case .septAdd, .pageAug, .rangeBlock, .track, .pageRemove, .demote: .shared
        case .wbinvd, .reclaim: nil                                   // HPA-keyed, no TDR operand
        }
    }
}

/// What `inject seamcall=NAME status=WORD` turns into for a given SEAMCALL.
enum InjectedStatus {
    /// status words (scenario format) -> module status.
    static func status(_ word: String, for call: Seamcall) -> TdxStatus {
        switch word {
        case "busy", "busy_twice":
            let op: UInt64 = call == .track ? TdxStatus.operandTDEpoch : (call.tdrMode == .exclusive ? TdxStatus.operandTDR : TdxStatus.operandSEPT)
            return TdxStatus.operandBusy.with(operand: op)
        case "epoch_busy": return .previousTlbEpochBusy
        case "walk_failed": return .eptWalkFailed
        case "state_incorrect": return TdxStatus.eptEntryStateIncorrect.with(operand: TdxStatus.operandRCX)
        case "interrupted": return call == .demote ? .interruptedRestartable : .interruptedResumable
        default: return .operandInvalid   // "error": any non-busy failure
        }
    }
}
