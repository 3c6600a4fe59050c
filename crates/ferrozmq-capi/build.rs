//! The shared library's SONAME is libzmq's (`libzmq.so.5`), so a program
//! linked against it records the same dependency as one linked against
//! libzmq, and either library satisfies it at run time.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzmq.so.5");
    println!("cargo:rerun-if-changed=build.rs");
}
