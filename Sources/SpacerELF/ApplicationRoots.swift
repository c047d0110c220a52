import SpacerCore

/// The roots an application gives its image (`Image.roots`, the workload's `roots` column): the
/// library symbols its objects reference.
public enum ApplicationRoots {
    /// The undefined, non-local, named symbols of `inputs` (what `nm -u` lists) that no input
    /// defines itself and some table of `tables` defines as a global or weak entry, each once,
    /// sorted bytewise.
    /// - Throws: `.data` naming the input and byte offset for a malformed object.
    public static func roots(of inputs: [ObjectInput], tables: [FunctionTable]) throws -> [String] {
        var undefined = Set<String>(), defined = Set<String>()
        for input in inputs {
            let elf = try ELFObject(bytes: input.bytes, file: input.displayName)
            for s in elf.symbols where !s.name.isEmpty && !s.isLocal {
                if s.isUndefined { undefined.insert(s.name) } else { defined.insert(s.name) }
            }
        }
        let library = Set(tables.flatMap { $0.entries.filter { $0.binding != .local }.map(\.name) })
        return undefined.subtracting(defined).filter(library.contains).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
