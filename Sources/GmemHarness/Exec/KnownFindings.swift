/// Findings the default profile raises by design, each documented in FINDINGS.md with its
/// reproducer. Fuzzing jobs skip them (so a known design issue does not stop every run);
/// `GMEMFUZZ_KNOWN=report` or `gmemfuzz fuzz --report-known` turns them back on.
public enum KnownFindings {
    public struct Entry: Sendable {
        public let signaturePrefix: String
        /// The FINDINGS.md entry.
        public let finding: String
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
    ]

    public static var prefixes: [String] { entries.map(\.signaturePrefix) }
}
