import GmemModel

/// Runs programs with several logical threads (`tN:`) or a `schedule` (SPEC §6).
enum ConcurrentExecutor {
    static func run(_ program: Program, options: Executor.Options) -> RunReport {
        switch options.mode {
        case .deterministic: return runDeterministic(program, options: options)
        case .threads: return ThreadsExecutor.run(program, options: options)
        }
    }

    static func runDeterministic(_ program: Program, options: Executor.Options) -> RunReport {
        let model = Model(config: program.config)
        model.checkEveryStep = options.checkEveryStep
        let sched = TurnstileScheduler(program: program, model: model, trace: options.trace)
        model.attach(sched)
        // Only the thread holding the turnstile touches these (see TurnstileScheduler).
        let state = RunState(threads: sched.threadCount)
        sched.onSwitchAway = { slot in state.collect(slot, model, program, sched) }
        // The closure holds sched and model, and model holds sched: break the cycle, or every
        // run leaks its model (LeakSanitizer stops FuzzConcurrent at the first input).
        defer { sched.onSwitchAway = nil }

        sched.run { slot, i in
            let op = program.ops[i]
            var result: SysResult = .skipped
            var aborted = false
            var cancelled = false
            do throws(ModelAbort) {
                result = try Executor.apply(op, model)
            } catch {
                if error.isCancelled { cancelled = true } else {
                    state.pending[slot].append(error.finding)
                    aborted = true
                    // A deadlock subsumes the lockdep inversion its own acquisition reported.
                    if error.finding.kind == .deadlock {
                        state.pending[slot].removeAll { $0.kind == .lockdep }
                        state.suppressLockdep = true
                    }
                }
            }
            if cancelled {
                // What the unwinding itself raises is noise; what this thread reported before
                // it was torn down (possibly the finding that ended the run) is kept.
                _ = model.drainFindings()
                let fs = state.pending[slot]
                state.pending[slot].removeAll()
                if fs.isEmpty {
                    state.report.records.append(OpRecord(index: i, op: op, result: .skipped, findings: []))
                } else {
                    _ = Executor.account(i, op, .skipped, fs, aborted: true, model, options, &state.report)
                }
                state.cancelled += 1
                return
            }
            // Once the run is torn down, cancelled threads still hold what they held when they
            // were unwound (an L1 on whichever op ends next): nothing to check then.
            if !aborted && !sched.aborting { model.checkInvariants(atOpEnd: true, othersIdle: !sched.othersInFlight(slot)) }
            state.collect(slot, model, program, sched)
            let fs = state.pending[slot]
            state.pending[slot].removeAll()
            if Executor.account(i, op, result, fs, aborted: aborted, model, options, &state.report) {
                sched.aborting = true
            }
            state.executed += 1
        }
        // The closure captures the scheduler and the model, which holds the scheduler: break the
        // cycle or every concurrent run leaks its whole model (LeakSanitizer in the fuzzers).
        sched.onSwitchAway = nil
        var report = state.report
        report.stoppedEarly = state.executed + state.cancelled < program.ops.count || state.cancelled > 0
        report.steps = sched.steps
        report.stepOps = sched.stepOps
        report.stepDefaults = sched.stepDefaults
        report.trace = sched.trace ?? []
        return report
    }

    /// Per-run bookkeeping shared by the logical threads (one at a time: the turnstile).
    final class RunState: @unchecked Sendable {
        var report = RunReport()
        var pending: [[Finding]]
        var seen = Set<String>()
        var executed = 0
        var cancelled = 0
        var suppressLockdep = false
        init(threads: Int) { pending = Array(repeating: [], count: threads) }

        /// Attribute the model's new findings to `slot`'s op. With several threads in flight
        /// a broken state would be re-reported by every thread's checks: one report per
        /// kind:id per run. An unexpected finding ends the run as in sequential mode (after
        /// the op it fired in).
        func collect(_ slot: Int, _ model: Model, _ program: Program, _ sched: TurnstileScheduler) {
            for f in model.drainFindings() where !(suppressLockdep && f.kind == .lockdep) {
                let key = f.kind.rawValue + ":" + f.id
                if seen.contains(key) { continue }
                seen.insert(key)
                pending[slot].append(f)
            }
            guard !pending[slot].isEmpty else { return }
            let t = sched.threads[slot]
            guard t.inOp, t.next < t.ops.count else { return }
            let op = program.ops[t.ops[t.next]]
            let expectedPrefix: String? = if case .finding(let p) = op.expect { p } else { nil }
            if pending[slot].contains(where: { f in
                expectedPrefix.map { !"\(f.kind.rawValue):\(f.id):\(op.kind.name)".hasPrefix($0) } ?? true
            }) {
                sched.aborting = true
            }
        }
    }
}
