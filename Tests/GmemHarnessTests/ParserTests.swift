import Testing
import GmemHarness
import GmemModel

/// The `.gmf` parser (SPEC §4): what it accepts, and errors with file:line:column + message.
@Suite struct ParserTests {
    /// Parse text that must fail; return the error.
    static func error(_ text: String, file: String = "t.gmf",
                      sourceLocation: SourceLocation = #_sourceLocation) -> ScenarioError? {
        do {
            let p = try ScenarioParser.parse(text, file: file)
            Issue.record("expected a parse error, got \(p.ops.count) op(s)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Assert the error position and that the message contains `msg`.
    static func expectError(_ text: String, line: Int, column: Int, _ msg: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = error(text, sourceLocation: sourceLocation) else { return }
        #expect(e.file == "t.gmf", sourceLocation: sourceLocation)
        #expect(e.line == line, "line of \(e)", sourceLocation: sourceLocation)
        #expect(e.column == column, "column of \(e)", sourceLocation: sourceLocation)
        #expect(e.message.contains(msg), "message of \(e)", sourceLocation: sourceLocation)
        #expect(!e.message.isEmpty, sourceLocation: sourceLocation)
    }

    static let h = "gmemfuzz 1\n"

    // MARK: errors

    @Test func errorDescriptionFormat() throws {
        let e = ScenarioError(file: "Corpus/x.gmf", line: 3, column: 17, message: "unknown op 'foo'")
        #expect(e.description == "Corpus/x.gmf:3:17: error: unknown op 'foo'")
        let parsed = try #require(Self.error(Self.h + "\n  frob vm=0\n", file: "dir/s.gmf"))
        #expect(parsed.description == "dir/s.gmf:3:3: error: \(parsed.message)")
        #expect(parsed.description.hasPrefix("dir/s.gmf:3:3: error: unknown op 'frob'"))
        #expect("\(parsed)" == parsed.description)
    }

    @Test func defaultFileName() throws {
        let e: ScenarioError
        do { _ = try ScenarioParser.parse("oops"); Issue.record("parsed"); return } catch { e = error }
        #expect(e.file == "<input>")
        #expect(e.description.hasPrefix("<input>:1:1: error: "))
    }

    @Test func unknownOp() {
        Self.expectError(Self.h + "vm.crate vm=0\n", line: 2, column: 1, "unknown op 'vm.crate'")
        // Column counts leading blanks; a tab is one column.
        Self.expectError(Self.h + "vm.create\n\t  gmem.frob\n", line: 3, column: 4, "unknown op 'gmem.frob'")
        // After a thread prefix, the op's own column.
        Self.expectError(Self.h + "t2: nope\n", line: 2, column: 5, "unknown op 'nope'")
        // The header word is not an op.
        Self.expectError(Self.h + "gmemfuzz 1\n", line: 2, column: 1, "unknown op 'gmemfuzz'")
    }

    @Test func unknownKeyPointsAtTheKey() {
        //                 1234567890123456
        Self.expectError(Self.h + "vm.create vm=0 tpye=sw\n", line: 2, column: 16, "unknown key 'tpye'")
        Self.expectError(Self.h + "# c\n\nhost.read proc=0 gmem=0 page=1 valu=1\n", line: 4, column: 32, "unknown key 'valu'")
        // The message lists the op and its keys.
        guard let e = Self.error(Self.h + "gmem.punch gmem=0 to=private\n") else { return }
        #expect(e.column == 19)
        #expect(e.message.contains("gmem.punch"))
        #expect(e.message.contains("gmem") && e.message.contains("page") && e.message.contains("count"))
        // A key without '=' that is not a word.
        Self.expectError(Self.h + "vm.create vm\n", line: 2, column: 11, "expected vm=VALUE")
        Self.expectError(Self.h + "vm.create vm=\n", line: 2, column: 11, "expected vm=VALUE")
    }

    @Test func badValuePointsAtTheValue() {
        //                 123456789012345678901
        Self.expectError(Self.h + "vm.create vm=0 type=arm\n", line: 2, column: 21, "bad value 'arm' for type")
        Self.expectError(Self.h + "vm.create vm=8\n", line: 2, column: 14, "bad value '8' for vm")    // handles 0..7
        Self.expectError(Self.h + "gmem.alloc page=-1\n", line: 2, column: 17, "bad value '-1' for page")
        Self.expectError(Self.h + "gmem.alloc page=0x\n", line: 2, column: 17, "bad value")
        Self.expectError(Self.h + "gmem.alloc page=12abc\n", line: 2, column: 17, "bad value")
        Self.expectError(Self.h + "gmem.alloc page=1099511627777\n", line: 2, column: 17, "bad value")  // > 2^40
        Self.expectError(Self.h + "host.write value=0x100\n", line: 2, column: 18, "bad value '0x100' for value")
        Self.expectError(Self.h + "guest.read gfn=1 private=2\n", line: 2, column: 26, "bad value '2' for private")
        Self.expectError(Self.h + "gmem.create flags=mmap,huge\n", line: 2, column: 19, "bad value 'mmap,huge' for flags")
        Self.expectError(Self.h + "gmem.create flags=mmap,\n", line: 2, column: 19, "bad value")
        Self.expectError(Self.h + "tdx.init_mem_region src=gmem:8:0\n", line: 2, column: 25, "bad value")
        Self.expectError(Self.h + "tdx.init_mem_region src=gmem:1\n", line: 2, column: 25, "bad value")
        Self.expectError(Self.h + "tdx.init_mem_region src=file\n", line: 2, column: 25, "bad value")
        Self.expectError(Self.h + "inject signal=1\n", line: 2, column: 8, "'signal' takes no value")
    }

    @Test func duplicateKey() {
        //                 1234567890123456
        Self.expectError(Self.h + "vm.create vm=0 vm=1\n", line: 2, column: 16, "duplicate key 'vm'")
        Self.expectError(Self.h + "inject signal signal\n", line: 2, column: 15, "duplicate key 'signal'")
    }

    @Test func missingHeader() {
        Self.expectError("vm.create vm=0\n", line: 1, column: 1, "expected header 'gmemfuzz 1'")
        Self.expectError("# comment\n\n   profile hp-v3\n", line: 3, column: 4, "expected header")
        Self.expectError("", line: 1, column: 1, "expected header")
        Self.expectError("# only comments\n\n", line: 3, column: 1, "empty scenario")
    }

    @Test func wrongVersion() {
        Self.expectError("gmemfuzz 2\n", line: 1, column: 10, "unsupported format version")
        Self.expectError("gmemfuzz\n", line: 1, column: 1, "unsupported format version")
        Self.expectError("gmemfuzz 1 extra\n", line: 1, column: 10, "unsupported format version")
    }

    @Test func profileAndVariantAfterAnOp() {
        Self.expectError(Self.h + "vm.create\nprofile hp-v3\n", line: 3, column: 1, "'profile' must come before the first op")
        Self.expectError(Self.h + "vm.create\n  variant +gmem.static_filter\n", line: 3, column: 3, "'variant' must come before the first op")
        Self.expectError(Self.h + "profile hp-v9\n", line: 2, column: 9, "unknown profile 'hp-v9'")
        Self.expectError(Self.h + "profile\n", line: 2, column: 1, "expected 'profile NAME'")
    }

    @Test func unknownVariant() {
        //                 1234567890
        Self.expectError(Self.h + "variant +gmem.nope\n", line: 2, column: 10, "unknown variant 'gmem.nope'")
        Self.expectError(Self.h + "variant +gmem.static_filter -tdx.bogus\n", line: 2, column: 30, "unknown variant 'tdx.bogus'")
        Self.expectError(Self.h + "variant gmem.static_filter\n", line: 2, column: 9, "variant must start with + or -")
        Self.expectError(Self.h + "variant\n", line: 2, column: 1, "expected 'variant +NAME'")
    }

    @Test func badExpectation() {
        //                 12345678901234567890
        Self.expectError(Self.h + "vm.create vm=0 => EWHAT\n", line: 2, column: 19, "unknown expectation 'EWHAT'")
        Self.expectError(Self.h + "vm.create vm=0 => EAGAIN@x\n", line: 2, column: 26, "bad error offset 'x'")
        Self.expectError(Self.h + "vm.create vm=0 => 0x100\n", line: 2, column: 19, "bad value '0x100'")
        Self.expectError(Self.h + "vm.create vm=0 => exit:reboot\n", line: 2, column: 19, "unknown exit")
        Self.expectError(Self.h + "vm.create vm=0 => finding:\n", line: 2, column: 19, "empty finding prefix")
        Self.expectError(Self.h + "vm.create vm=0 =>\n", line: 2, column: 16, "expected an expectation after '=>'")
        Self.expectError(Self.h + "vm.create vm=0 => ok ok\n", line: 2, column: 22, "unexpected token after the expectation")
    }

    @Test func badThreadPrefix() {
        Self.expectError(Self.h + "tx: vm.create\n", line: 2, column: 1, "bad thread prefix 'tx:'")
        Self.expectError(Self.h + "t64: vm.create\n", line: 2, column: 1, "bad thread prefix 't64:'")
        Self.expectError(Self.h + "t: vm.create\n", line: 2, column: 1, "bad thread prefix")
        Self.expectError(Self.h + "  t-1: vm.create\n", line: 2, column: 3, "bad thread prefix")
        Self.expectError(Self.h + "t1:\n", line: 2, column: 1, "expected an op after the thread prefix")
    }

    @Test func badSchedule() {
        //                 1234567890
        Self.expectError(Self.h + "schedule\n", line: 2, column: 1, "expected 'schedule steps=")
        Self.expectError(Self.h + "schedule steps=0,a,1\n", line: 2, column: 10, "bad thread number 'a'")
        Self.expectError(Self.h + "schedule steps=0,64\n", line: 2, column: 10, "bad thread number '64'")
        Self.expectError(Self.h + "schedule steps=0,,1\n", line: 2, column: 10, "bad thread number")
        Self.expectError(Self.h + "schedule steps=0 pct\n", line: 2, column: 18, "unexpected token after steps=")
        Self.expectError(Self.h + "schedule random\n", line: 2, column: 10, "unknown schedule kind 'random'")
        Self.expectError(Self.h + "schedule pct seed=1 depth=4\n", line: 2, column: 21, "pct depth must be <= 3")
        Self.expectError(Self.h + "schedule pct seed=x\n", line: 2, column: 14, "expected key=number")
        Self.expectError(Self.h + "schedule pct seed\n", line: 2, column: 14, "expected key=number")
        Self.expectError(Self.h + "schedule pct prio=1\n", line: 2, column: 14, "unknown schedule key 'prio'")
    }

    // MARK: accepted input

    @Test func commentsAndBlankLinesAreIgnored() throws {
        let text = """
        # leading comment

        gmemfuzz 1   # header comment
           \t
        # profile ml-6.16
        profile ipc-v8 # trailing
        vm.create vm=1 # type=tdx is commented out => EINVAL

            # indented comment
        gmem.create gmem=2 vm=1#no space before the comment
        """
        let p = try ScenarioParser.parse(text)
        #expect(p.config.profile == .ipcV8)
        #expect(p.ops.count == 2)
        #expect(p.ops[0] == Op(.vmCreate, ["vm": 1]))
        #expect(p.ops[0].expect == nil)
        #expect(p.ops[1] == Op(.gmemCreate, ["gmem": 2, "vm": 1]))
        #expect(p.schedule == nil)
        // An error after comments/blank lines reports the physical line.
        Self.expectError("\n# x\ngmemfuzz 1\n\n# y\nbogus\n", line: 6, column: 1, "unknown op")
    }

    @Test func crlfLineEndings() throws {
        let p = try ScenarioParser.parse("gmemfuzz 1\r\nprofile ml-7.0\r\nvm.create vm=3 => ok\r\n")
        #expect(p.config.profile == .ml70)
        #expect(p.ops == [Op(.vmCreate, ["vm": 3], expect: .ok)])
    }

    @Test func defaultsWithoutKeys() throws {
        let p = try ScenarioParser.parse(Self.h + "gmem.create\nhost.read\nhost.write\ninject signal\n")
        #expect(p.config == Config())
        #expect(p.config.profile == .hpV3)
        let c = p.ops[0]
        #expect(c["gmem"] == 0 && c["vm"] == 0 && c["pages"] == 4 && c["flags"] == 0 && c["huge"] == 0)
        #expect(p.ops[1].opt("value") == nil)           // optional: absent
        #expect(p.ops[2]["value"] == 0xaa)              // default value
        #expect(p.ops[3].opt("signal") == 1)
        #expect(p.ops[3].opt("times") == nil && p.ops[3].opt("alloc") == nil)
    }

    @Test func hexNumbers() throws {
        let p = try ScenarioParser.parse(Self.h + """
        gmem.create gmem=0x3 pages=0x40 flags=mmap,init_shared huge=2m
        slot.create gfn=0X1000 pages=0x10 off=0x0
        host.write page=0xF value=0xff
        guest.read gfn=0x101 private=1 => 0x0a
        gmem.convert page=10 count=0x2 to=shared => EAGAIN@0x1f
        """)
        #expect(p.ops[0]["gmem"] == 3 && p.ops[0]["pages"] == 64 && p.ops[0]["flags"] == 3 && p.ops[0]["huge"] == 1)
        #expect(p.ops[1]["gfn"] == 0x1000 && p.ops[1]["pages"] == 16 && p.ops[1]["off"] == 0)
        #expect(p.ops[2]["page"] == 15 && p.ops[2]["value"] == 255)
        #expect(p.ops[3]["gfn"] == 257 && p.ops[3].opt("private") == 1 && p.ops[3].expect == .value(0x0a))
        #expect(p.ops[4]["page"] == 10 && p.ops[4]["count"] == 2 && p.ops[4]["to"] == 1)
        #expect(p.ops[4].expect == .errno(.EAGAIN, offset: 31))
        // The upper bound 2^40 is accepted.
        let q = try ScenarioParser.parse(Self.h + "gmem.alloc count=0x10000000000\n")
        #expect(q.ops[0]["count"] == 1 << 40)
    }

    @Test func threadPrefix() throws {
        let p = try ScenarioParser.parse(Self.h + "t0: vm.create\nt1: gmem.punch page=2\n  t63:  mm.ref  page=1 => ok\nmm.unref\n")
        #expect(p.ops.map(\.thread) == [0, 1, 63, 0])
        #expect(p.ops[1] == Op(.gmemPunch, ["page": 2], thread: 1))
        #expect(p.ops[2] == Op(.mmRef, ["page": 1], thread: 63, expect: .ok))
    }

    @Test func everyExpectationForm() throws {
        let forms: [(String, GmemHarness.Expectation)] = [
            ("ok", .ok),
            ("EINVAL", .errno(.EINVAL, offset: nil)),
            ("EAGAIN@2", .errno(.EAGAIN, offset: 2)),
            ("ENOMEM@0", .errno(.ENOMEM, offset: 0)),
            ("EHWPOISON", .errno(.EHWPOISON, offset: nil)),
            ("SIGBUS", .sigbus),
            ("SIGSEGV", .sigsegv),
            ("0x41", .value(0x41)),
            ("0x00", .value(0)),
            ("0xFF", .value(0xff)),
            ("exit:memory_fault", .exit(.memoryFault)),
            ("exit:mmio", .exit(.mmio)),
            ("exit:hypercall", .exit(.hypercall)),
            ("finding:invariant:G4", .finding("invariant:G4")),
            ("finding:lockdep", .finding("lockdep")),
            ("finding:deadlock:invalidate_lock:gmem.convert", .finding("deadlock:invalidate_lock:gmem.convert")),
            ("skipped", .skipped),
            ("count:3", .count(3)),
        ]
        for (text, want) in forms {
            let p = try ScenarioParser.parse(Self.h + "guest.read vcpu=1 gfn=0x100 => \(text)\n")
            #expect(p.ops.count == 1)
            #expect(p.ops[0].expect == want, "=> \(text)")
            #expect(p.ops[0]["vcpu"] == 1 && p.ops[0]["gfn"] == 0x100)
        }
        // Every errno name the model knows parses.
        for e in Errno.allCases {
            let p = try ScenarioParser.parse(Self.h + "vm.create => \(e.name)\n")
            #expect(p.ops[0].expect == .errno(e, offset: nil))
        }
    }

    @Test func headerProfileVariantsAndSchedules() throws {
        let p = try ScenarioParser.parse("""
        gmemfuzz 1
        profile ipc-v8
        variant +gmem.skip_refcount_check -gmem.filter_from_current_attrs
        variant +tdx.pin_per_page
        variant -tdx.pin_per_page
        vm.create
        schedule steps=0,1,1,0,63
        """)
        #expect(p.config.profile == .ipcV8)
        #expect(p.config.plus == [.skipRefcountCheck])
        #expect(p.config.minus == [.filterFromCurrentAttrs, .tdxPinPerPage])
        #expect(!p.config.effective.has(.filterFromCurrentAttrs))
        #expect(p.config.effective.has(.missingAttrIsShared))
        #expect(p.schedule == .steps([0, 1, 1, 0, 63]))
        let q = try ScenarioParser.parse(Self.h + "schedule pct seed=0x2a depth=3\n")
        #expect(q.schedule == .pct(seed: 42, depth: 3))
        #expect(q.ops.isEmpty)
        let r = try ScenarioParser.parse(Self.h + "schedule pct\n")
        #expect(r.schedule == .pct(seed: 0, depth: 1))
        for prof in Profile.allCases {
            #expect(try ScenarioParser.parse(Self.h + "profile \(prof.rawValue)\n").config.profile == prof)
        }
        for v in Variant.allCases {
            #expect(try ScenarioParser.parse(Self.h + "variant +\(v.name)\n").config.plus == VariantSet(v))
        }
    }

    @Test func valueTypes() throws {
        let p = try ScenarioParser.parse(Self.h + """
        gmem.create gmem=7 flags=init_shared huge=1g
        gmem.create flags=init_shared,mmap
        tdx.init_mem_region vcpu=1 gfn=2 count=3 src=gmem:5:0x10 proc=4 value=0x7 measure=1
        tdx.init_mem_region src=anon
        tdx.init_mem_region src=none
        inject seamcall=PAGE.AUG status=busy_twice times=3
        inject alloc=folio_split gup=efault cmpxchg
        guest.accept level=2m
        """)
        #expect(p.ops[0]["gmem"] == 7 && p.ops[0]["flags"] == 2 && p.ops[0]["huge"] == 2)
        #expect(p.ops[1]["flags"] == 3)
        let t = p.ops[2]
        #expect(t["src"] == 2 + (5 << 16) + 16)
        #expect(t.opt("proc") == 4 && t.opt("value") == 7 && t["measure"] == 1)
        #expect(p.ops[3]["src"] == 1 && p.ops[3].opt("proc") == nil)
        #expect(p.ops[4]["src"] == 0)
        let i = p.ops[5]
        #expect(i.opt("seamcall") == 4 && i.opt("status") == 1 && i.opt("times") == 3)
        #expect(i.opt("alloc") == nil && i.opt("signal") == nil)
        let j = p.ops[6]
        #expect(j.opt("alloc") == 2 && j.opt("gup") == 0 && j.opt("cmpxchg") == 1 && j.opt("seamcall") == nil)
        #expect(p.ops[7]["level"] == 1)
    }

    @Test func referenceScenarioParses() throws {
        let text = """
        gmemfuzz 1
        profile hp-v3
        vm.create vm=0 type=sw => ok
        vcpu.create vm=0 vcpu=0 => ok
        gmem.create gmem=0 vm=0 pages=4 flags=mmap,init_shared => ok
        slot.create vm=0 slot=0 gmem=0 gfn=0x100 pages=4 => ok
        host.mmap proc=0 gmem=0 => ok
        host.write gmem=0 page=1 value=0x41 => ok
        guest.read vcpu=0 gfn=0x101 => 0x41
        gmem.convert gmem=0 page=1 to=private => ok
        host.read gmem=0 page=1 => SIGBUS
        host.pin gmem=0 page=2 => ok
        gmem.convert gmem=0 page=0 count=4 to=private => EAGAIN@2
        """
        let p = try ScenarioParser.parse(text, file: "a.gmf")
        #expect(p.ops.map(\.kind) == [.vmCreate, .vcpuCreate, .gmemCreate, .slotCreate, .hostMmap, .hostWrite,
                                      .guestRead, .gmemConvert, .hostRead, .hostPin, .gmemConvert])
        #expect(p.ops[3]["gfn"] == 0x100 && p.ops[3]["pages"] == 4)
        #expect(p.ops[5]["value"] == 0x41)
        #expect(p.ops[7]["to"] == 0)
        #expect(p.ops[10].expect == .errno(.EAGAIN, offset: 2))
    }
}
