/**
 * The reference kernels, written in TornadoVM's programming model: final classes of static methods
 * over flat arrays, no allocation, no objects, each with one {@code @Parallel} loop over independent
 * iterations. Called directly they are plain Java, the reference every faster backend is tested
 * against; handed to a TaskGraph, TornadoVM compiles the same methods for a GPU.
 *
 * <p>Every kernel takes a range [from, to) of its parallel index, so the CPU backend can run blocks
 * of it on its threads. The loop walks it as {@code from + at} for {@code at} in
 * [0, to − from): TornadoVM only parallelises loops that start at a constant with a constant stride.
 */
package io.gradus.kernels.reference;
