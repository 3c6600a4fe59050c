//! `fzmq keygen`: a CURVE key pair in Z85 (RFC 32), as libzmq's
//! `curve_keygen` prints it, or the public key of a given secret key.

use crate::common::CliError;
use clap::Args;
use ferrozmq::curve::KeyPair;

/// Arguments of `fzmq keygen`.
#[derive(Args, Debug)]
#[command(
    about = "Generate a CURVE key pair (Z85), as libzmq's curve_keygen",
    long_about = "Generate a CURVE key pair, printed as two 40-character Z85 strings \
        (RFC 32) in the format of libzmq's curve_keygen. Keep the secret key with \
        its owner; give the public key to the peers. With --public-from, print the \
        public key that belongs to a secret key instead.",
    after_help = "Examples:\n  \
        fzmq keygen\n  \
        fzmq keygen --public-from 'D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs'"
)]
pub struct KeygenArgs {
    /// Print the public key of this secret key (40 Z85 characters)
    #[arg(long, value_name = "SECRET")]
    pub public_from: Option<String>,
}

/// Runs `fzmq keygen`.
pub fn run(args: KeygenArgs) -> Result<(), CliError> {
    if let Some(secret) = args.public_from {
        let key = ferrozmq::curve::parse_key(secret.as_bytes())
            .map_err(|e| CliError::failure(format!("invalid secret key: {e}")))?;
        let public = ferrozmq::curve::public_from_secret(&key);
        println!("{}", ferrozmq::z85::encode(&public).unwrap_or_default());
        return Ok(());
    }
    let pair = KeyPair::generate();
    let (public, secret) = pair.to_z85();
    println!("== CURVE PUBLIC KEY ==");
    println!("{public}");
    println!("== CURVE SECRET KEY ==");
    println!("{}", &*secret);
    Ok(())
}
