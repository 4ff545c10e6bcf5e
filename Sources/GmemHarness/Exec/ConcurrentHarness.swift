import GmemModel

/// Entry point for the concurrent fuzz targets (`Fuzz/` FuzzConcurrent): one program, one run,
/// in deterministic mode (ASan target, replay) or threads mode (TSan target). Expectations are
/// not checked (fuzzing); the first unexpected finding, if any, is the result.
public enum ConcurrentHarness {
    public static func runOne(_ program: Program, mode: ExecMode = .deterministic) -> RunReport {
        Executor.run(program, options: .init(checkEveryStep: mode == .deterministic,
                                             checkExpectations: false, mode: mode))
    }
}
