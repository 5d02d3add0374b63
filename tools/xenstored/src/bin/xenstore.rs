//! `xenstore`: the xenstore command-line client (`xenstore read PATH`, or
//! `xenstore-read PATH` through a link); see [`xenstore::cli`].

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let code = xenstore::cli::main(&argv, &mut std::io::stdout().lock(), &mut std::io::stderr().lock());
    std::process::exit(code);
}
