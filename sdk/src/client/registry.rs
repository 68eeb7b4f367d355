//! Registering residents and meters. Each takes the grid's next directory slot (its
//! `resident_count` or `meter_count`), which the client reads itself: callers never pass an
//! index, so a registration works on a grid that already has members.

use anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use super::{Client, Result, Sent};
use crate::accounts::Grid;
use crate::instructions::{self, RegisterMeterArgs};

/// How often a registration whose slot another registration took first is tried again.
const REGISTER_ATTEMPTS: usize = 3;

impl Client {
    /// Registers a meter owned by the resident at `owner` (signed by the payer, the grid's
    /// admin) at the grid's next directory slot.
    pub async fn register_meter(
        &self,
        grid: &Pubkey,
        owner: &Pubkey,
        args: RegisterMeterArgs,
    ) -> Result<Sent> {
        let admin = self.payer();
        self.at_next_slot(
            grid,
            |g| g.meter_count,
            |index| {
                (
                    instructions::register_meter(&admin, grid, owner, index, args.clone()),
                    Vec::new(),
                )
            },
        )
        .await
    }

    /// Registers resident `id` whose wallet is `authority` (who signs) at the grid's next
    /// directory slot.
    pub async fn register_resident(
        &self,
        authority: &Keypair,
        grid: &Pubkey,
        id: &str,
    ) -> Result<Sent> {
        self.at_next_slot(
            grid,
            |g| g.resident_count,
            |index| {
                (
                    instructions::register_resident(
                        &authority.pubkey(),
                        &authority.pubkey(),
                        grid,
                        index,
                        id,
                    ),
                    vec![authority],
                )
            },
        )
        .await
    }

    /// Sends the instruction `build` makes for the slot `count` reads from the grid; when it
    /// fails and the count has moved meanwhile (another registration took the slot), builds
    /// it again for the new count.
    async fn at_next_slot<'k>(
        &self,
        grid: &Pubkey,
        count: impl Fn(&Grid) -> u32,
        build: impl Fn(u32) -> (solana_instruction::Instruction, Vec<&'k Keypair>),
    ) -> Result<Sent> {
        let mut index = count(&self.grid_at(grid).await?.1);
        let mut attempt = 1;
        loop {
            let (ix, signers) = build(index);
            match self.send(&[ix], &signers).await {
                Ok(sent) => return Ok(sent),
                Err(err) => {
                    let now = count(&self.grid_at(grid).await?.1);
                    if now == index || attempt == REGISTER_ATTEMPTS {
                        return Err(err);
                    }
                    index = now;
                    attempt += 1;
                }
            }
        }
    }
}
