//! Demo custody: in `deu demo` the server holds every demo resident's and gateway's keypair
//! and signs for them. Clearly a demo: outside it, residents sign with their own wallets.

use std::collections::BTreeMap;

use solana_keypair::Keypair;

pub struct Custody {
    /// The grid's admin and payment oracle.
    pub utility: Keypair,
    pub residents: BTreeMap<String, Keypair>,
    /// Gateway keys by meter id.
    pub gateways: BTreeMap<String, Keypair>,
}

impl Custody {
    pub fn resident(&self, id: &str) -> Option<&Keypair> {
        self.residents.get(id)
    }
}
