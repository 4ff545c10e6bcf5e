#!/usr/bin/env python3
"""Writes the CONSTRUCTED sample traces in this directory (not captured on a machine).

Every event text follows a format string quoted in research/traces-and-selftests.md §1-§3;
each scenario is rendered by every kernel renderer (§2.1 ftrace trace / trace_pipe, §2.2
trace-cmd report, §2.3 perf script) plus a QEMU -trace log of the same run (§3).
Run from this directory: python3 make-samples.py
"""

HEADER = "CONSTRUCTED sample trace (built from the tracepoint formats in research/traces-and-selftests.md; not captured on a real machine): {what}"

SYS = {"kvm_mmu_spte_requested": "kvmmmu", "kvm_mmu_set_spte": "kvmmmu", "kvm_tdp_mmu_spte_changed": "kvmmmu"}

def ev(task, cpu, ts, name, info):
    comm, pid = task.rsplit("-", 1)
    return (comm, int(pid), cpu, ts, name, info)

def ftrace(events, flags5=True, tgid=False, header=True, what=""):
    out = ["# " + HEADER.format(what=what)]
    if header:
        out += ["# tracer: nop", "#", "# entries-in-buffer/entries-written: %d/%d   #P:8" % (len(events), len(events)), "#",
                "#                                _-----=> irqs-off/BH-disabled",
                "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION", "#              | |         |   |||||     |         |"]
    for comm, pid, cpu, ts, name, info in events:
        fl = "....." if flags5 else "...."
        tg = " (%7d)" % pid if tgid else ""
        out.append("%16s-%-7d%s [%03d] %s %5d.%06d: %s: %s" % (comm, pid, tg, cpu, fl, int(ts), round((ts % 1) * 1e6), name, info))
    return "\n".join(out) + "\n"

def tracecmd(events, what=""):
    out = ["# " + HEADER.format(what=what), "version = 6", "cpus=8"]
    for comm, pid, cpu, ts, name, info in events:
        pad = " " * max(0, 20 - len(name))
        out.append("%16s-%-5d [%03d] %5d.%06d: %s: %s%s" % (comm, pid, cpu, int(ts), round((ts % 1) * 1e6), name, pad, info))
    return "\n".join(out) + "\n"

def perf(events, what=""):
    out = ["# " + HEADER.format(what=what)]
    names = ["%s:%s" % (SYS.get(n, "kvm"), n) for (_, _, _, _, n, _) in events]
    w = max(len(n) for n in names)
    for (comm, pid, cpu, ts, name, info), full in zip(events, names):
        out.append("%16s %7d [%03d] %5d.%06d: %*s: %s" % (comm, pid, cpu, int(ts), round((ts % 1) * 1e6), w, full, info))
    return "\n".join(out) + "\n"

def qemu(lines, style, what=""):
    out = ["# " + HEADER.format(what=what)]
    for i, (tid, text) in enumerate(lines):
        if style == "tid":        # QEMU <= ~10.0 with -msg timestamp=on
            out.append("%d@1718000000.%06d:%s" % (tid, 123456 + i * 7, text))
        elif style == "iso":      # current tree: timestamp from qemu_log()
            out.append("2026-06-13T10:11:12.%06dZ %s" % (123456 + i * 7, text))
        else:                     # no -msg timestamp=on
            out.append(text)
    return "\n".join(out) + "\n"

VC, VMM = "CPU 0/KVM-5100", "qemu-system-x86-5090"

def fault(t, ts, vcpu, gpa, ec, gfn, pfn, reason="EPT_VIOLATION", retries=1, level=1):
    spte = (0x3 << 57) | (pfn << 12) | 0xb77
    out = [ev(t, 1, ts, "kvm_exit", "vcpu %d reason %s rip 0xffffffff81001000 info1 0x%016x info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000" % (vcpu, reason, ec)),
           ev(t, 1, ts + 0.000003, "kvm_page_fault", "vcpu %d rip 0xffffffff81001000 address 0x%016x error_code 0x%x" % (vcpu, gpa, ec))]
    for r in range(retries):
        out.append(ev(t, 1, ts + 0.000008 + r * 0.000002, "kvm_mmu_spte_requested", "gfn %x pfn %x level %d" % (gfn, pfn, level)))
    out += [ev(t, 1, ts + 0.000020, "kvm_tdp_mmu_spte_changed", "as id 0 gfn %x level %d old_spte 8000000000000000 new_spte %x" % (gfn, level, spte)),
            ev(t, 1, ts + 0.000021, "kvm_mmu_set_spte", "gfn %x spte %x (rwxu) level %d at 10c4f2%03x" % (gfn, spte, level, (gfn & 0x1ff) * 8)),
            ev(t, 1, ts + 0.000030, "kvm_entry", "vcpu %d, rip 0xffffffff81001000 intr_info 0x00000000 error_code 0x00000000" % vcpu)]
    return out

def zap(t, cpu, ts, gfn, pfn):
    spte = (0x3 << 57) | (pfn << 12) | 0xb77
    return ev(t, cpu, ts, "kvm_tdp_mmu_spte_changed", "as id 0 gfn %x level 1 old_spte %x new_spte 8000000000000000" % (gfn, spte))

# 1. sw VM (KVM_X86_SW_PROTECTED_VM, mainline per-VM attributes): shared fault, MapGPA to
#    private, private faults, an implicit conversion (memory-fault exit), MapGPA back to shared.
def sw_convert():
    e = [ev(VC, 1, 90.000100, "kvm_entry", "vcpu 0, rip 0xfff0 intr_info 0x00000000 error_code 0x00000000")]
    e += fault(VC, 90.000200, 0, 0x100000000, 0x182, 0x100000, 0x1c6e00)                 # shared write
    e += [ev(VC, 1, 90.001000, "kvm_exit", "vcpu 0 reason VMCALL rip 0xffffffff81002000 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000"),
          ev(VC, 1, 90.001002, "kvm_hypercall", "nr 0xc a0 0x100000000 a1 0x2 a2 0x10 a3 0x0"),
          ev(VC, 1, 90.001004, "kvm_userspace_exit", "reason KVM_EXIT_HYPERCALL (3)"),
          ev(VC, 1, 90.001100, "kvm_vm_set_mem_attributes", "0x00000000100000 -- 0x00000000100002 [0x8]"),
          zap(VC, 1, 90.001110, 0x100000, 0x1c6e00),
          ev(VC, 1, 90.001200, "kvm_entry", "vcpu 0, rip 0xffffffff81002000 intr_info 0x00000000 error_code 0x00000000")]
    e += fault(VC, 90.002000, 0, 0x100000000, 0x182, 0x100000, 0x2a0000)                 # private write
    e += fault(VC, 90.002100, 0, 0x100001000, 0x181, 0x100001, 0x2a0001)                 # private read
    e += [ev(VMM, 3, 90.002500, "kvm_age_hva", "mmu notifier age hva: 0x007f3a00000000 -- 0x007f3a00001000"),
          ev(VC, 1, 90.003000, "kvm_exit", "vcpu 0 reason EPT_VIOLATION rip 0xffffffff81003000 info1 0x0000000000000182 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000"),
          ev(VC, 1, 90.003003, "kvm_page_fault", "vcpu 0 rip 0xffffffff81003000 address 0x0000000100003000 error_code 0x182"),
          ev(VC, 1, 90.003010, "kvm_userspace_exit", "reason error (14)"),
          ev(VC, 1, 90.003100, "kvm_vm_set_mem_attributes", "0x00000000100003 -- 0x00000000100004 [0x8]"),
          ev(VC, 1, 90.003200, "kvm_entry", "vcpu 0, rip 0xffffffff81003000 intr_info 0x00000000 error_code 0x00000000")]
    e += fault(VC, 90.003300, 0, 0x100003000, 0x182, 0x100003, 0x2a0003)                 # re-fault, private now
    e += [ev(VC, 1, 90.004000, "kvm_exit", "vcpu 0 reason VMCALL rip 0xffffffff81004000 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000"),
          ev(VC, 1, 90.004002, "kvm_hypercall", "nr 0xc a0 0x100000000 a1 0x2 a2 0x0 a3 0x0"),
          ev(VC, 1, 90.004004, "kvm_userspace_exit", "reason KVM_EXIT_HYPERCALL (3)"),
          ev(VC, 1, 90.004100, "kvm_vm_set_mem_attributes", "0000000000000000 -- 0x00000000000000 [0x0]"),   # glibc zero rendering
          ev(VC, 1, 90.004150, "kvm_vm_set_mem_attributes", "0x00000000100000 -- 0x00000000100002 [0x0]"),
          zap(VC, 1, 90.004160, 0x100000, 0x2a0000), zap(VC, 1, 90.004161, 0x100001, 0x2a0001),
          ev(VC, 1, 90.004200, "kvm_entry", "vcpu 0, rip 0xffffffff81004000 intr_info 0x00000000 error_code 0x00000000")]
    e += fault(VC, 90.005000, 0, 0x100000000, 0x181, 0x100000, 0x1c6e00)                 # shared read
    return e

TV, TVMM = "CPU 0/KVM-4242", "qemu-system-x86-4230"

# 2. TDX: build (QEMU sets RAM private, KVM_TDX_INIT_MEM_REGION populates 4 pages), run (a
#    private fault = accept), MapGPA(shared) of 16 pages over a mapped private page, a shared
#    access through the shared-bit alias (4-level EPT: GPA bit 47).
def tdx_mapgpa():
    e = [ev(TVMM, 4, 812.000001, "kvm_vm_set_mem_attributes", "0x00000000080000 -- 0x00000000080400 [0x8]")]
    for i in range(4):
        g, p = 0x80000 + i, 0x1c7000 + i
        spte = (0x3 << 57) | (p << 12) | 0xb77
        e += [ev(TVMM, 4, 812.000010 + i * 0.00001, "kvm_mmu_spte_requested", "gfn %x pfn %x level 1" % (g, p)),
              ev(TVMM, 4, 812.000012 + i * 0.00001, "kvm_tdp_mmu_spte_changed", "as id 0 gfn %x level 1 old_spte 8000000000000000 new_spte %x" % (g, spte)),
              ev(TVMM, 4, 812.000013 + i * 0.00001, "kvm_mmu_set_spte", "gfn %x spte %x (rwxu) level 1 at 10c4f2%03x" % (g, spte, i * 8))]
    e += [ev(TV, 5, 812.000090, "kvm_entry", "vcpu 0, rip 0x0 intr_info 0x00000000 error_code 0x00000000")]
    e += fault(TV, 812.000100, 0, 0x80010000, 0x2, 0x80010, 0x1c6e00, retries=2)        # private: accept
    e[-1] = ev(TV, 5, 812.000130, "kvm_entry", "vcpu 0, rip 0x0 intr_info 0x00000000 error_code 0x00000000")
    e += [ev(TV, 5, 812.000300, "kvm_exit", "vcpu 0 reason TDCALL rip 0x0 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000"),
          ev(TV, 5, 812.000305, "kvm_userspace_exit", "reason KVM_EXIT_HYPERCALL (3)"),
          ev(TV, 5, 812.000410, "kvm_vm_set_mem_attributes", "0x00000000080010 -- 0x00000000080020 [0x0]"),
          zap(TV, 5, 812.000420, 0x80010, 0x1c6e00),
          ev(TV, 5, 812.000500, "kvm_entry", "vcpu 0, rip 0x0 intr_info 0x00000000 error_code 0x00000000")]
    e += fault(TV, 812.000600, 0, 0x0000800080010000, 0x181, 0x80010, 0x3a0010)         # shared alias read
    return e

# 3. Punch hole: in-place guest_memfd (no kvm_vm_set_mem_attributes), 4 private pages faulted
#    in, the VMM punches them (zaps with no conversion in flight), one re-fault.
def punch_hole():
    e = [ev(VC, 1, 91.000100, "kvm_entry", "vcpu 0, rip 0xfff0")]
    for i in range(4):
        e += fault(VC, 91.000200 + i * 0.0001, 0, 0x100000000 + i * 0x1000, 0x182, 0x100000 + i, 0x2b0000 + i)
    e += [zap(VMM, 3, 91.002000 + i * 0.000001, 0x100000 + i, 0x2b0000 + i) for i in range(4)]
    e += [ev(VMM, 3, 91.002100, "kvm_mmio", "mmio write len 4 gpa 0xfee000b0 val 0x0")]
    e += fault(VC, 91.003000, 0, 0x100000000, 0x181, 0x100000, 0x2c0000)
    return e

SAMPLES = {
    "sw-convert": (sw_convert(), "sw VM converting shared<->private (MapGPA hypercalls, an implicit conversion) with faults",
                   dict(flags5=True, tgid=False, header=True)),
    "tdx-mapgpa": (tdx_mapgpa(), "TDX build (populate) + run (private fault) + MapGPA to shared + shared access",
                   dict(flags5=False, tgid=False, header=False)),     # trace_pipe shape, older 4 flag columns
    "punch-hole": (punch_hole(), "private pages faulted in, then PUNCH_HOLE on guest_memfd, then a re-fault",
                   dict(flags5=True, tgid=True, header=True)),        # record-tgid column
}

QEMU = {
    "sw-convert": ("tid", "QEMU side of a sw VM: MapGPA to private, then an implicit conversion after a memory-fault exit", [
        (5090, "kvm_set_user_memory AddrSpace#0 Slot#2 flags=0x4 gpa=0x100000000 size=0x10000 ua=0x7f3a00000000 guest_memfd=21 guest_memfd_offset=0x0 ret=0"),
        (5100, "kvm_run_exit cpu_index 0, reason 3"),
        (5100, "kvm_hc_map_gpa_range gpa 0x100000000 size 0x2000 attributes 0x10 flags 0x1"),
        (5100, "kvm_convert_memory start 0x100000000 size 0x2000 shared_to_private"),
        (5100, "ram_block_attributes_state_change offset 0x0 size 0x2000 from 'populated' to 'discarded'"),
        (5100, "kvm_run_exit cpu_index 0, reason 39"),
        (5100, "kvm_memory_fault start 0x100003000 size 0x1000 flags 0x8"),
        (5100, "kvm_convert_memory start 0x100003000 size 0x1000 shared_to_private"),
        (5100, "kvm_run_exit cpu_index 0, reason 3"),
        (5100, "kvm_hc_map_gpa_range gpa 0x100000000 size 0x2000 attributes 0x0 flags 0x1"),
        (5100, "kvm_convert_memory start 0x100000000 size 0x2000 private_to_shared"),
    ]),
    "tdx-mapgpa": ("iso", "QEMU side of the TDX run: memslot, MapGPA(shared) of 16 pages", [
        (4230, "kvm_set_user_memory AddrSpace#0 Slot#0 flags=0x4 gpa=0x0 size=0x80000000 ua=0x7f0000000000 guest_memfd=20 guest_memfd_offset=0x0 ret=0"),
        (4230, "tdx_handle_reset "),
        (4242, "kvm_run_exit cpu_index 0, reason 3"),
        (4242, "kvm_hc_map_gpa_range gpa 0x80010000 size 0x10000 attributes 0x0 flags 0x1"),
        (4242, "kvm_convert_memory start 0x80010000 size 0x10000 private_to_shared"),
        (4242, "ram_block_attributes_state_change offset 0x80010000 size 0x10000 from 'discarded' to 'populated'"),
    ]),
    "punch-hole": ("bare", "QEMU discarding the shared backing after a conversion to private", [
        (5090, "kvm_set_user_memory AddrSpace#0 Slot#2 flags=0x4 gpa=0x100000000 size=0x10000 ua=0x7f3a00000000 guest_memfd=21 guest_memfd_offset=0x0 ret=0"),
        (5100, "kvm_run_exit cpu_index 0, reason 3"),
        (5100, "kvm_hc_map_gpa_range gpa 0x100000000 size 0x4000 attributes 0x10 flags 0x1"),
        (5100, "kvm_convert_memory start 0x100000000 size 0x4000 shared_to_private"),
        (5100, "ram_block_discard_shared_range pc.ram@0x7f3a00000000 + 0x4000: madvise: 1 fallocate: 0 ret: 0"),
    ]),
}

for name, (events, what, kw) in SAMPLES.items():
    open(name + ".ftrace.txt", "w").write(ftrace(events, what=what, **kw))
    open(name + ".trace-cmd.txt", "w").write(tracecmd(events, what=what))
    open(name + ".perf.txt", "w").write(perf(events, what=what))
for name, (style, what, lines) in QEMU.items():
    open(name + ".qemu.log", "w").write(qemu(lines, style, what=what))
