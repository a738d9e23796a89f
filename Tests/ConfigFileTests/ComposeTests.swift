import ConfigFile
import Testing

/// The composer over libyaml: what a configuration reads (text, order, lines) and what it refuses.
@Suite struct ComposeTests {
    func failure(_ yaml: String) -> String? {
        do {
            _ = try ConfigFile.compose(yaml: yaml)
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: ["", "\n", "# only a comment\n"])
    func anEmptyStreamIsNil(yaml: String) throws {
        #expect(try ConfigFile.compose(yaml: yaml) == nil)
    }

    @Test func anEmptyDocumentIsNull() throws {
        #expect(try ConfigFile.compose(yaml: "---\n")?.isNull == true)
    }

    @Test func mappingsKeepTheirOrderTextAndLines() throws {
        let root = try #require(try ConfigFile.compose(yaml: "b: 1\na:\n  - x\n  - 'y z'\nc: {k: v}\n"))
        let mapping = try #require(root.mapping)
        #expect(mapping.keys.map(\.string) == ["b", "a", "c"])
        #expect(mapping["b"]?.string == "1")
        #expect(mapping["a"]?.sequence?.map(\.string) == ["x", "y z"])
        #expect(mapping["a"]?.sequence?[1].mark == YAMLMark(line: 4, column: 5))
        #expect(mapping["c"]?.mapping?["k"]?.string == "v")
        #expect(mapping["c"]?.mark.line == 5)
        #expect(mapping["missing"] == nil)
        #expect(root.mark == YAMLMark(line: 1, column: 1))
    }

    @Test func nullIsPlainOnly() throws {
        let root = try #require(try ConfigFile.compose(yaml: "a:\nb: ~\nc: null\nd: 'null'\ne: \"\"\nf: NULL\ng: nil\n"))
        let mapping = try #require(root.mapping)
        #expect(mapping.map { $0.value.isNull } == [true, true, true, false, false, true, false])
        #expect(mapping["d"]?.string == "null")
    }

    @Test func blockScalarsKeepTheirText() throws {
        let root = try #require(try ConfigFile.compose(yaml: "send: |\n  GET / HTTP/1.0\n  Host: x\n"))
        #expect(root.mapping?["send"]?.string == "GET / HTTP/1.0\nHost: x\n")
        #expect(root.mapping?["send"]?.isNull == false)
    }

    @Test func duplicateKeysAreRefusedWithBothLines() {
        #expect(failure("a: 1\nb: 2\na: 3\n") == "not valid YAML: duplicate key \"a\" at line 3 (first at line 1)")
        #expect(failure("x:\n  - {k: 1, k: 2}\n")?.hasPrefix("not valid YAML: duplicate key \"k\"") == true)
    }

    @Test func aliasesAndSecondDocumentsAreRefused() {
        #expect(failure("a: &x [1, 2]\nb: *x\n") == "not valid YAML: aliases (*name) are not supported, at line 2, column 4")
        #expect(failure("a: 1\n---\nb: 2\n") == "not valid YAML: a second document at line 2, column 1 (the file must hold one)")
    }

    @Test func deepBlockNestingIsRefused() {
        let deep = (0..<100).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " end\n"
        #expect(failure(deep)?.hasPrefix("not valid YAML: nested too deeply (more than \(ConfigFile.maximumDepth) levels) at line 65,") == true)
        let shallow = (0..<60).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " end\n"
        #expect(failure(shallow) == nil)
    }

    @Test func syntaxErrorsSayWhere() {
        #expect(failure("a: [1, 2\n")?.hasPrefix("not valid YAML: ") == true)
        #expect(failure("a: [1, 2\n")?.contains("at line ") == true)
        #expect(failure("a:\n\t- b\n")?.contains("line 2") == true)
    }
}
