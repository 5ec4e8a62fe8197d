//! Build script: on x86_64 musl only, compiles the memcpy and memmove of `musl/memcpy.c`.

fn main() {
    println!("cargo:rerun-if-changed=musl/memcpy.c");
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if env != "musl" || arch != "x86_64" {
        return;
    }
    // -ffreestanding and no loop-pattern distribution: the compiler must not turn the copy
    // loops back into calls to memcpy (which would call themselves).
    cc::Build::new()
        .file("musl/memcpy.c")
        .opt_level(2)
        .flag("-ffreestanding")
        .flag_if_supported("-fno-tree-loop-distribute-patterns")
        .flag("-fno-stack-protector")
        .compile("rsops_memcpy");
}
