import MagiKernels

/// Facts about the compute kernels in use.
public enum KernelInfo {
    /// The instruction set the kernels dispatched to on this CPU: "avx512vnni", "avx512", "avx2", "neon" or "scalar".
    public static var instructionSet: String { String(cString: magi_kernel_isa()) }
}
