/// Findings the default profile raises by design, each documented in FINDINGS.md with its
/// reproducer. Fuzzing jobs skip them (so a known design issue does not stop every run);
/// `GMEMFUZZ_KNOWN=report` or `gmemfuzz fuzz --report-known` turns them back on.
public enum KnownFindings {
    public struct Entry: Sendable {
        public let signaturePrefix: String
        /// The FINDINGS.md entry.
        public let finding: String
        /// Known only in a concurrent run with no variant switched on: the prefix is shared with
        /// zoo bugs (variants) and would hide sequential model bugs if skipped everywhere.
        public var onlyConcurrentWithoutVariants = false
    }

    public static let entries: [Entry] = [
        // F1: memory_failure holds the folio lock and takes invalidate_lock (gmem D8).
        Entry(signaturePrefix: "lockdep:folio_lock>invalidate_lock:", finding: "F1"),
        // F1 discovered the other way round: memory_failure ran first (folio lock ->
        // invalidate_lock), then punch hole / allocate take invalidate_lock -> folio lock. Only
        // kvm_gmem_error_folio takes folio -> invalidate_lock, so this pair is F1 too (the
        // in-process fuzz loop found it on ml-7.0: mf then punch, gmem.punch reports it).
        Entry(signaturePrefix: "lockdep:invalidate_lock>folio_lock:", finding: "F1"),
        // F1 as an actual interleaving (deterministic scheduler): the same ABBA deadlocks.
        Entry(signaturePrefix: "deadlock:folio_lock+invalidate_lock:", finding: "F1"),
        // F2: a TDR-exclusive SEAMCALL outside mmu_lock (MR.EXTEND, MR.FINALIZE) makes a
        // concurrent zap's RANGE.BLOCK BUSY twice: TDX_BUG_ON (tdx B13 / I15). The same warn is
        // the signature of the B12/B11 zoo variants, hence the condition.
        Entry(signaturePrefix: "warn:tdx_sept_remove_private_spte:", finding: "F2", onlyConcurrentWithoutVariants: true),
    ]

    /// Skipped everywhere (the executor's `ignore` list).
    public static var prefixes: [String] { entries.filter { !$0.onlyConcurrentWithoutVariants }.map(\.signaturePrefix) }

    /// Whether `f` is a known finding of this run (both kinds of entry).
    public static func isKnown(_ signature: String, _ p: Program) -> Bool {
        let concurrentNoVariants = p.config.plus.rawValue == 0 && p.ops.contains { $0.thread != 0 }
        return entries.contains { e in
            signature.hasPrefix(e.signaturePrefix) && (!e.onlyConcurrentWithoutVariants || concurrentNoVariants)
        }
    }
}
