/// Allocation sites that `inject alloc=SITE` can fail.
public enum AllocSite: Int, CaseIterable, Sendable {
    case maple = 0      // attribute maple-tree preallocation (kvm_gmem_mas_preallocate, xa_reserve)
    case folio          // folio allocation (filemap_alloc_folio / hugetlb)
    case folioSplit     // hugetlb split (HVO undo)
    case septSplit      // S-EPT split page / shadow page
    case pamt           // Dynamic PAMT pages

    public var name: String { ["maple", "folio", "folio_split", "sept_split", "pamt"][rawValue] }
    public init?(name: String) {
        guard let s = AllocSite.allCases.first(where: { $0.name == name }) else { return nil }
        self = s
    }
}

/// Pending injected failures: each one fails the next N matching calls.
public struct Injections {
    var alloc: [Int] = Array(repeating: 0, count: AllocSite.allCases.count)
    var gupEfault = 0
    var signal = 0
    var cmpxchg = 0
    /// seamcall name -> (status code, remaining) — consumed by the TDX model (issue 3).
    public var seamcall: [String: (status: String, times: Int)] = [:]
    /// Set once any failure was injected (a finding then is not subject to the zero-FP rule).
    public internal(set) var anyInjected = false

    public mutating func add(alloc site: AllocSite, times: Int) { alloc[site.rawValue] += times; anyInjected = true }
    public mutating func addGupEfault(times: Int) { gupEfault += times; anyInjected = true }
    public mutating func addSignal(times: Int) { signal += times; anyInjected = true }
    public mutating func addCmpxchg(times: Int) { cmpxchg += times; anyInjected = true }
    /// `busy_twice` fails two consecutive calls per `times` and survives a vCPU kick (contention
    /// from a TDR-exclusive SEAMCALL elsewhere); `busy` is vCPU-side contention a kick ends.
    public mutating func addSeamcall(_ name: String, status: String, times: Int) {
        seamcall[name] = (status, status == "busy_twice" ? 2 * times : times); anyInjected = true
    }

    /// The status word injected for the next call of this SEAMCALL, consumed.
    mutating func take(seamcall name: String) -> String? {
        guard let e = seamcall[name], e.times > 0 else { return nil }
        seamcall[name] = e.times > 1 ? (e.status, e.times - 1) : nil
        return e.status
    }

    /// tdx_no_vcpus_enter_start(): kicked vCPUs stop contending (zero-step mitigation, TDCALLs),
    /// so pending vCPU-side `busy` injections on this SEAMCALL end.
    mutating func endVcpuContention(_ name: String) {
        if seamcall[name]?.status == "busy" { seamcall[name] = nil }
    }

    mutating func take(alloc site: AllocSite) -> Bool {
        guard alloc[site.rawValue] > 0 else { return false }
        alloc[site.rawValue] -= 1
        return true
    }
    /// signal_pending(current)
    mutating func takeSignal() -> Bool {
        guard signal > 0 else { return false }
        signal -= 1
        return true
    }
    /// try_cmpxchg64() on a mirror SPTE loses (a concurrent vCPU fault): -EBUSY, RET_PF_RETRY.
    mutating func takeCmpxchg() -> Bool {
        guard cmpxchg > 0 else { return false }
        cmpxchg -= 1
        return true
    }
    mutating func takeGupEfault() -> Bool {
        guard gupEfault > 0 else { return false }
        gupEfault -= 1
        return true
    }
}
