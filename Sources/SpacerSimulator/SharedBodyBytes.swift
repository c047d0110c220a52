import SpacerCore

extension Simulator {
    /// What a placement actually shares of the ground truth (`IdealSharing.shareableBytes`).
    public struct BodySharing: Sendable, Hashable {
        /// Ground truth: Σ over image pairs of the bytes of the body instances both hold.
        public var idealBytes: Int
        /// Of those, the bytes this placement shares (see `sharedBodyBytes`).
        public var sharedBytes: Int
        /// 100 × sharedBytes / idealBytes (0 when nothing is shareable).
        public var pct: Double { idealBytes == 0 ? 0 : 100 * Double(sharedBytes) / Double(idealBytes) }
    }

    /// Measures how much of the ideal sharing a placement achieves, pair of images by pair.
    ///
    /// A byte of body instance b is shared between images i and j (both holding b as an own,
    /// placed entry) when b starts at the same offset within a page in both images and the page
    /// holding that byte has the same page content key in i as in j (so one frame backs both).
    /// `sharedBytes` sums, over pairs of images and the body instances they both hold, the bytes
    /// shared so; it never exceeds `idealBytes`, the same sum over all bytes of those bodies.
    /// Dead copies, trampolines and padding are not bodies an image holds and are not counted.
    /// Under `loader`, writable data is private and counts in neither figure; bss never counts.
    ///
    /// - Parameters:
    ///   - layouts: one feasible layout per image (as `simulate` accepts).
    ///   - options: the page size, dedup model and xref mode of the simulation.
    /// - Returns: ideal and shared bytes (image pairs × bytes).
    /// - Complexity: O(P log P + Σ_b m_b · pages(b)) for P mapped pages and m_b holders of body b,
    ///   plus the page walk of `pageKeys` for every image.
    public static func bodySharing(_ w: Workload, layouts: [ImageLayout], options: SimulationOptions) -> BodySharing {
        let includeWritable = options.dedup == .ksm
        let ps = UInt64(options.pageSize)
        let ideal = IdealSharing.shareableBytes(w, includeWritable: includeWritable)
        // Holders of every body instance: (image, address), in image order.
        var holders = [[(image: Int, address: UInt64)]](repeating: [], count: w.bodyInstanceCount)
        var sizes = [Int](repeating: 0, count: w.bodyInstanceCount)
        for (i, img) in w.images.enumerated() {
            for (k, t) in img.tables.enumerated() {
                let entries = w.tables[t].entries
                for (e, a) in layouts[i].addresses[k].enumerated() where a != ImageLayout.removed
                    && IdealSharing.counts(entries[e].kind, includeWritable) {
                    let b = Int(w.bodyInstanceIDs[t][e])
                    holders[b].append((i, a)); sizes[b] = entries[e].size
                }
            }
        }
        // Page keys of the images that hold at least one body instance held twice.
        var needed = [Bool](repeating: false, count: w.images.count)
        for h in holders where h.count >= 2 { for x in h { needed[x.image] = true } }
        let pages: [[Page]] = w.images.indices.map { i in
            needed[i] ? pageKeys(w, image: i, layout: layouts[i], options: options) : []
        }
        func key(_ i: Int, _ page: UInt64) -> PageDigest? {
            let p = pages[i]
            var lo = 0, hi = p.count
            while lo < hi { let mid = (lo + hi) / 2; if p[mid].number < page { lo = mid + 1 } else { hi = mid } }
            guard lo < p.count && p[lo].number == page else { return nil }
            // Under loader a writable page is private to each instance: never shared.
            return p[lo].writable && !includeWritable ? nil : p[lo].key
        }
        var shared = 0
        var counts: [PageDigest: Int] = [:]
        for b in holders.indices where holders[b].count >= 2 {
            let size = UInt64(sizes[b])
            // Only holders at the same offset within their page can share; group by that offset.
            let byOffset = holders[b].sorted { ($0.address % ps, $0.image) < ($1.address % ps, $1.image) }
            var g = 0
            while g < byOffset.count {
                let off = byOffset[g].address % ps
                var end = g
                while end < byOffset.count && byOffset[end].address % ps == off { end += 1 }
                if end - g >= 2 {
                    // Slices: [0, ps - off), then whole pages, then the tail.
                    var s: UInt64 = 0, pageIndex: UInt64 = 0
                    while s < size {
                        let sliceEnd = min(size, (pageIndex + 1) * ps - off)
                        counts.removeAll(keepingCapacity: true)
                        for h in byOffset[g..<end] {
                            if let k = key(h.image, h.address / ps + pageIndex) { counts[k, default: 0] += 1 }
                        }
                        var pairs = 0
                        for c in counts.values where c >= 2 { pairs += c * (c - 1) / 2 }
                        shared += pairs * Int(sliceEnd - s)
                        s = sliceEnd; pageIndex += 1
                    }
                }
                g = end
            }
        }
        return BodySharing(idealBytes: ideal, sharedBytes: shared)
    }
}
