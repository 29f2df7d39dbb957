// mimalloc keeps freed memory for reuse: each remittance's parsed model runs to tens of
// megabytes, and the system allocator maps and faults those pages in afresh for every file.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // First, before the large buffers of a remittance are ever touched.
    overturn::allocator::no_huge_pages();
    overturn::allocator::purge_sooner();
    overturn::cli::main()
}
