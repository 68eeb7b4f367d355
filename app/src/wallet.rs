//! Residents' own wallets: every action a resident signs, as an unsigned transaction for the
//! wallet (a Solana Pay transaction request: `GET` → label and icon, `POST {"account"}` →
//! `{"transaction", "message"}`), and `POST /api/send` to relay the signed transaction to the
//! cluster. The pages use them with any Wallet Standard wallet; phones and QR codes on poles
//! use the same URLs through Solana Pay. The server holds no key and adds no signature: the
//! program checks each signer.

use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use energy_utility_sdk::accounts::SaleStatus;
use energy_utility_sdk::amounts::{format_k, format_usd};
use energy_utility_sdk::program::state::validate_id;
use energy_utility_sdk::{instructions, pda, SdkError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use solana_transaction::versioned::VersionedTransaction;

use crate::api::{amount_units, grid};
use crate::error::ApiError;
use crate::App;

type Shared = State<Arc<App>>;
type ApiResult = Result<Json<Value>, ApiError>;

/// The largest transaction a cluster accepts.
const MAX_TRANSACTION_BYTES: usize = 1232;
/// The compute budget program: a wallet may add its instructions to what it signs.
const COMPUTE_BUDGET: Pubkey = anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/wallets/{wallet}", get(wallet_residents))
        .route("/api/pay/register", get(pay_label).post(pay_register))
        .route("/api/pay/fund", get(pay_label).post(pay_fund))
        .route("/api/pay/sell", get(pay_label).post(pay_sale))
        .route(
            "/api/pay/payout-account",
            get(pay_label).post(pay_payout_account),
        )
        .route(
            "/api/pay/payout-cancel",
            get(pay_label).post(pay_payout_cancel),
        )
        .route("/api/pay/cancel", get(pay_label).post(pay_cancel))
        .route("/api/pay/collect", get(pay_label).post(pay_collect))
        .route("/api/pay/veto", get(pay_label).post(pay_veto))
        .route(
            "/api/pay/emergency-credit",
            get(pay_label).post(pay_emergency_credit),
        )
        .route("/api/send", post(send))
}

/// The Wallet Standard chain (`solana:localnet`, `solana:devnet`, …) of the cluster at `url`,
/// which the pages pass to the wallet when it signs; `None` for a cluster it cannot tell.
pub fn chain_of(url: &str) -> Option<&'static str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
    .to_ascii_lowercase();
    if host == "localhost" || host == "::1" || host == "0.0.0.0" || host.starts_with("127.") {
        Some("solana:localnet")
    } else if host.contains("devnet") {
        Some("solana:devnet")
    } else if host.contains("testnet") {
        Some("solana:testnet")
    } else if host.contains("mainnet") {
        Some("solana:mainnet")
    } else {
        None
    }
}

async fn pay_label() -> Json<Value> {
    Json(json!({"label": "Community energy grid", "icon": "/static/icon.svg"}))
}

#[derive(Deserialize)]
struct PayAccount {
    account: String,
}

fn wallet(account: &str) -> Result<Pubkey, ApiError> {
    account
        .parse()
        .map_err(|_| ApiError::bad_request("account must be a wallet public key"))
}

/// Who asks and for whom: the wallet in the request's body, the grid, and the resident `id`,
/// which must belong to that wallet.
struct Signer {
    wallet: Pubkey,
    grid: Pubkey,
    resident: Pubkey,
    state: energy_utility_sdk::accounts::Resident,
}

async fn own_resident(app: &App, body: &PayAccount, id: &str) -> Result<Signer, ApiError> {
    let wallet = wallet(&body.account)?;
    let (grid, _) = grid(app).await?;
    let (resident, state) = app.client.resident(&grid, id).await?;
    if state.authority != wallet {
        return Err(ApiError::forbidden(format!(
            "resident '{id}' belongs to another wallet"
        )));
    }
    Ok(Signer {
        wallet,
        grid,
        resident,
        state,
    })
}

/// The answer to a transaction request (Solana Pay's shape): one instruction for `payer`'s
/// wallet to sign, base64, and a sentence that says what it does; a sale also tells its number.
#[derive(Serialize)]
struct TransactionRequest {
    transaction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sale: Option<u32>,
    message: String,
}

type Requested = Result<Json<TransactionRequest>, ApiError>;

/// Who pays for `wallet`'s act: the server's sponsor when it has one and the wallet holds
/// less than [`crate::sponsor::SPONSOR_BELOW_LAMPORTS`], else the wallet itself.
async fn payer_for(app: &App, wallet: &Pubkey) -> Result<Pubkey, ApiError> {
    let Some(sponsor) = app.sponsor.get() else {
        return Ok(*wallet);
    };
    let lamports = app.client.lamports(wallet).await?;
    Ok(if lamports < crate::sponsor::SPONSOR_BELOW_LAMPORTS {
        sponsor.pubkey()
    } else {
        *wallet
    })
}

/// `to_sign`, its fee paid by whoever [`payer_for`] says pays for `wallet`.
async fn to_sign_for(
    app: &App,
    ix: solana_transaction::Instruction,
    wallet: &Pubkey,
    message: String,
) -> Requested {
    let payer = payer_for(app, wallet).await?;
    to_sign(&app.client, ix, wallet, &payer, message).await
}

/// The unsigned transaction of `ix` for `wallet` to sign, its fee paid by `payer` (the wallet,
/// or the server's sponsor, which signs when it relays it).
async fn to_sign(
    client: &energy_utility_sdk::Client,
    ix: solana_transaction::Instruction,
    wallet: &Pubkey,
    payer: &Pubkey,
    message: String,
) -> Requested {
    let blockhash = client
        .rpc
        .get_latest_blockhash()
        .await
        .map_err(|e| ApiError::cluster_unavailable(&e))?;
    // Each request its own transaction: the same request twice in one block would otherwise
    // be the same bytes to sign, and the cluster would run them once. Sponsored, the wallet
    // signs the memo, so every act carries its signature.
    let action = crate::action_id();
    let memo = if payer == wallet {
        energy_utility_sdk::instructions::action_memo(&action)
    } else {
        energy_utility_sdk::instructions::signed_action_memo(&action, wallet)
    };
    let mut tx = solana_transaction::Transaction::new_with_payer(&[ix, memo], Some(payer));
    tx.message.recent_blockhash = blockhash;
    let bytes = bincode::serialize(&tx)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(TransactionRequest {
        transaction: base64::engine::general_purpose::STANDARD.encode(bytes),
        sale: None,
        message: if payer == wallet {
            message
        } else {
            format!("{message} (the utility pays the fee)")
        },
    }))
}

/// `GET /api/wallets/{wallet}`: the residents this wallet signs for.
async fn wallet_residents(State(app): Shared, Path(account): Path<String>) -> ApiResult {
    let account = wallet(&account)?;
    let (address, grid_state) = grid(&app).await?;
    let residents = app
        .client
        .residents(&address, grid_state.resident_count)
        .await?;
    let ids: Vec<String> = residents
        .into_iter()
        .filter(|(_, r)| r.authority == account)
        .map(|(_, r)| r.id)
        .collect();
    Ok(Json(
        json!({"wallet": account.to_string(), "residents": ids}),
    ))
}

// The query strings of the transaction requests: who signs, and what for.

#[derive(Deserialize)]
struct RegisterQuery {
    id: String,
}

#[derive(Deserialize)]
struct FundQuery {
    from: String,
    meter: String,
    amount_k: String,
}

#[derive(Deserialize)]
struct SellQuery {
    from: String,
    amount_k: String,
    /// Refused when present: a link never says where the dollars go (see [`pay_sale`]).
    to: Option<String>,
}

#[derive(Deserialize)]
struct PayoutAccountQuery {
    from: String,
    /// The connected account the resident onboarded (`acct_…`).
    account: String,
}

#[derive(Deserialize)]
struct FromQuery {
    from: String,
}

#[derive(Deserialize)]
struct CancelQuery {
    from: String,
    sale: u32,
}

#[derive(Deserialize)]
struct CollectQuery {
    meter: String,
}

/// An unsigned `register_resident`: the wallet becomes resident `id`'s authority.
async fn pay_register(
    State(app): Shared,
    Query(query): Query<RegisterQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let account = wallet(&body.account)?;
    validate_id(&query.id).map_err(|_| {
        ApiError::bad_request(
            "a resident id is 1 to 32 letters, digits, '-', '_' or '.', such as carol-2",
        )
    })?;
    let (address, grid_state) = grid(&app).await?;
    match app.client.resident(&address, &query.id).await {
        Ok(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("resident '{}' is taken: choose another id", query.id),
            ))
        }
        Err(SdkError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let payer = payer_for(&app, &account).await?;
    let ix = instructions::register_resident(
        &account,
        &payer,
        &address,
        grid_state.resident_count,
        &query.id,
    );
    to_sign(
        &app.client,
        ix,
        &account,
        &payer,
        format!("Register as resident {} of {}", query.id, app.grid_name),
    )
    .await
}

/// An unsigned `fund`: the resident's wallet prepays a meter.
async fn pay_fund(
    State(app): Shared,
    Query(query): Query<FundQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let amount = amount_units(&Value::String(query.amount_k.clone()))?;
    let who = own_resident(&app, &body, &query.from).await?;
    let (meter, _) = app.client.meter(&who.grid, &query.meter).await?;
    let ix = instructions::fund(&who.wallet, &who.grid, &who.resident, &meter, amount);
    let message = format!(
        "Fund {} with {} k from {}",
        query.meter,
        format_k(amount),
        query.from
    );
    to_sign_for(&app, ix, &who.wallet, message).await
}

/// An unsigned `request_withdrawal`: a sale of `amount_k`, paid to the connected account the
/// resident bound on chain. A link cannot name another destination: one that tries (`to=…`)
/// is refused, and the message names the bound account with its bank as the processor
/// reports them.
async fn pay_sale(
    State(app): Shared,
    Query(query): Query<SellQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    if query.to.is_some() {
        return Err(crate::payments::orders::destination_from_request(
            &query.from,
        ));
    }
    let amount = amount_units(&Value::String(query.amount_k.clone()))?;
    let who = own_resident(&app, &body, &query.from).await?;
    let (_, grid) = app.client.grid(&app.grid_name).await?;
    let now = app.client.cluster_time().await?;
    let Some(bound) = who.state.payout_account_at(now).map(str::to_string) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{} has no payout account yet: open one with Get paid on their page and bind it, then sell",
                query.from
            ),
        ));
    };
    let number = who.state.sale_count;
    let sale = pda::sale(&who.resident, who.state.index, number);
    let request = energy_utility_sdk::fiat::sale_request(amount, grid.coin_price_cents)
        .ok_or_else(|| ApiError::bad_request("the amount is too large"))?;
    let payer = payer_for(&app, &who.wallet).await?;
    let ix = instructions::request_withdrawal(
        &who.wallet,
        &payer,
        &who.grid,
        &who.resident,
        &sale,
        request,
    );
    let destination = describe_payout_account(&app, &bound).await;
    let message = format!(
        "Sell {} k from {} for at least ${}, paid to {destination}",
        format_k(amount),
        query.from,
        format_usd(request.min_cents),
    );
    let mut request = to_sign(&app.client, ix, &who.wallet, &payer, message).await?;
    request.sale = Some(number);
    Ok(request)
}

/// A bound payout account as a message names it: with its bank from the processor when the
/// processor answers, else its id alone.
async fn describe_payout_account(app: &App, account: &str) -> String {
    let Some(payments) = app.payments.as_ref() else {
        return account.to_string();
    };
    match payments.processor.retrieve_account(account).await {
        Ok(found) => crate::payments::connect::describe_account(&found),
        Err(_) => account.to_string(),
    }
}

/// An unsigned `set_payout_account`: the resident binds the connected account they onboarded
/// (checked with the processor to be theirs and able to receive transfers). The first binding
/// is in force at once; a change waits for the grid's payout notice, and the page shows it
/// with a cancel button meanwhile.
async fn pay_payout_account(
    State(app): Shared,
    Query(query): Query<PayoutAccountQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let payments = app.payments.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "getting paid in dollars is not configured on this server",
        )
    })?;
    let who = own_resident(&app, &body, &query.from).await?;
    let destination =
        crate::payments::connect::destination_for(&app, payments, &query.from, &query.account)
            .await?;
    let (_, grid) = app.client.grid(&app.grid_name).await?;
    let now = app.client.cluster_time().await?;
    let ix = instructions::set_payout_account(
        &who.wallet,
        &who.grid,
        &who.resident,
        &destination.account.id,
    );
    let message = match who.state.payout_account_at(now) {
        None => format!(
            "Pay {}'s sales to {}",
            query.from,
            destination.describe()
        ),
        Some(current) if current == destination.account.id => format!(
            "Keep paying {}'s sales to {} (withdraws any change that waits)",
            query.from,
            destination.describe()
        ),
        Some(current) => format!(
            "Change where {}'s sales are paid to {}, in force after the grid's payout notice of {}; until then they are paid to {current}",
            query.from,
            destination.describe(),
            energy_utility_sdk::views::format_duration(
                grid.payment_rules_at(now).payout_notice_seconds
            ),
        ),
    };
    to_sign_for(&app, ix, &who.wallet, message).await
}

/// An unsigned `cancel_payout_account_change`: the resident withdraws a change of payout
/// account that waits for its notice.
async fn pay_payout_cancel(
    State(app): Shared,
    Query(query): Query<FromQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let who = own_resident(&app, &body, &query.from).await?;
    let now = app.client.cluster_time().await?;
    let waiting = &who.state.pending_payout_account;
    if waiting.is_empty() || now >= who.state.payout_change_ts {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{} has no change of payout account waiting", query.from),
        ));
    }
    let ix = instructions::cancel_payout_account_change(&who.wallet, &who.grid, &who.resident);
    let message = format!(
        "Cancel the change of {}'s payout account to {waiting}: sales stay paid to {}",
        query.from, who.state.payout_account
    );
    to_sign_for(&app, ix, &who.wallet, message).await
}

/// An unsigned `cancel_withdrawal`: a sale not yet locked for a payout gives its coins back.
async fn pay_cancel(
    State(app): Shared,
    Query(query): Query<CancelQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let Signer {
        wallet: account,
        grid: address,
        resident: resident_address,
        state: resident,
    } = own_resident(&app, &body, &query.from).await?;
    let sale = app
        .client
        .sales(&resident_address, &resident)
        .await?
        .into_iter()
        .find(|(number, _, _)| *number == query.sale)
        .ok_or_else(|| ApiError::not_found(format!("{} has no sale {}", query.from, query.sale)))?;
    if sale.2.status != SaleStatus::Requested {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "sale {} can no longer be cancelled: its payout has started or ended",
                query.sale
            ),
        ));
    }
    let ix = instructions::cancel_withdrawal(
        &account,
        &address,
        &resident_address,
        &sale.1,
        &sale.2.rent_payer,
    );
    to_sign_for(
        &app,
        ix,
        &account,
        format!(
            "Cancel sale {} of {}: {} k back to the coin account",
            query.sale,
            query.from,
            format_k(sale.2.units)
        ),
    )
    .await
}

/// An unsigned `collect_earnings`: a producer meter's earnings go to its owner's coins.
/// Anyone may send it (the coins can only go to the owner); the wallet pays the fee.
async fn pay_collect(
    State(app): Shared,
    Query(query): Query<CollectQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let account = wallet(&body.account)?;
    let (address, _) = grid(&app).await?;
    let (meter_address, meter) = app.client.meter(&address, &query.meter).await?;
    if meter.balance_units == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{} has no earnings to collect", query.meter),
        ));
    }
    let ix = instructions::collect_earnings(&address, &meter_address, &meter.owner);
    to_sign_for(
        &app,
        ix,
        &account,
        format!(
            "Collect {} k earned by {}",
            format_k(meter.balance_units),
            query.meter
        ),
    )
    .await
}

/// Refuses unless `account` is the wallet of `meter`'s owner, naming the owner and `what` only
/// they may do.
async fn owned_by(
    app: &App,
    meter: &energy_utility_sdk::accounts::Meter,
    account: &Pubkey,
    what: &str,
    meter_id: &str,
) -> Result<(), ApiError> {
    let owner = crate::api::owner_of(app, meter).await?;
    if owner.authority != *account {
        return Err(ApiError::forbidden(format!(
            "only {}'s wallet may {what} {meter_id}",
            owner.id
        )));
    }
    Ok(())
}

/// An unsigned `take_emergency_credit`: the meter's owner, low on coins, takes the grid's
/// emergency credit. Refused here, by the program's own rule, when it would be refused on
/// chain (none offered, taken already this cycle, not low).
async fn pay_emergency_credit(
    State(app): Shared,
    Query(query): Query<CollectQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let account = wallet(&body.account)?;
    let (address, grid_state) = grid(&app).await?;
    let (meter_address, meter) = app.client.meter(&address, &query.meter).await?;
    owned_by(
        &app,
        &meter,
        &account,
        "take the emergency credit of",
        &query.meter,
    )
    .await?;
    let now = app.client.cluster_time().await?;
    let units = crate::api::emergency_credit_for(&grid_state, &meter, now)?;
    let ix = instructions::take_emergency_credit(&account, &address, &meter_address, &meter.owner);
    to_sign_for(
        &app,
        ix,
        &account,
        format!(
            "Take the grid's emergency credit of {} k on {}: it stays connected until its debt reaches it; your next funding ends it and repays the debt",
            format_k(units),
            query.meter
        ),
    )
    .await
}

/// An unsigned `veto_meter_change`: the meter's owner turns down the change the utility
/// proposed for it alone.
async fn pay_veto(
    State(app): Shared,
    Query(query): Query<CollectQuery>,
    Json(body): Json<PayAccount>,
) -> Requested {
    let account = wallet(&body.account)?;
    let (address, _) = grid(&app).await?;
    let (meter_address, meter) = app.client.meter(&address, &query.meter).await?;
    let Some(change) = meter.pending_change else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("nothing waits to change on {}", query.meter),
        ));
    };
    owned_by(&app, &meter, &account, "veto what waits for", &query.meter).await?;
    let ix = instructions::veto_meter_change(&account, &address, &meter_address, &meter.owner);
    to_sign_for(
        &app,
        ix,
        &account,
        format!(
            "Veto the utility's proposal to {} on {}",
            energy_utility_sdk::views::describe_act(&change.act),
            query.meter
        ),
    )
    .await
}

#[derive(Deserialize)]
struct SendRequest {
    transaction: String,
}

/// `POST /api/send {"transaction": base64}`: a transaction the wallet signed, sent to the
/// cluster and confirmed. Only fully signed transactions of the grid's program (and compute
/// budget and memo instructions) are relayed.
async fn send(State(app): Shared, Json(body): Json<SendRequest>) -> ApiResult {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.transaction.trim())
        .map_err(|_| ApiError::bad_request("transaction must be base64"))?;
    if bytes.len() > MAX_TRANSACTION_BYTES {
        return Err(ApiError::bad_request(format!(
            "the transaction is {} bytes; at most {MAX_TRANSACTION_BYTES}",
            bytes.len()
        )));
    }
    let mut tx: VersionedTransaction = bincode::deserialize(&bytes)
        .map_err(|_| ApiError::bad_request("transaction is not a Solana transaction"))?;
    // Well-formed first (every index in range, as many signatures as the message requires),
    // then every one of them valid: a missing signer is not "all present signatures verify".
    if tx.sanitize().is_err() {
        return Err(ApiError::bad_request(
            "the transaction is malformed (its signatures and accounts do not match its message)",
        ));
    }
    // A transaction whose fee the server's sponsor pays: signed by it here, if it is an act
    // it sponsors within its budgets (see `sponsor`).
    if let Some(sponsor) = app.sponsor.get() {
        if tx.message.static_account_keys().first() == Some(&sponsor.pubkey()) {
            sponsor.sign(&mut tx)?;
        }
    }
    let required = usize::from(tx.message.header().num_required_signatures);
    if required == 0
        || tx.signatures.len() != required
        || !tx.verify_with_results().iter().all(|ok| *ok)
    {
        return Err(ApiError::bad_request(
            "the transaction is not signed by every signer it needs",
        ));
    }
    if tx.message.instructions().is_empty() {
        return Err(ApiError::bad_request("the transaction has no instruction"));
    }
    let keys = tx.message.static_account_keys();
    let foreign = tx.message.instructions().iter().any(|ix| {
        let program = keys.get(usize::from(ix.program_id_index));
        program != Some(&energy_utility_sdk::PROGRAM_ID)
            && program != Some(&COMPUTE_BUDGET)
            && program != Some(&energy_utility_sdk::instructions::MEMO_PROGRAM_ID)
    });
    if foreign {
        return Err(ApiError::bad_request(
            "this server relays only the grid program's transactions",
        ));
    }
    let signature = app.client.send_signed(&tx).await?;
    Ok(Json(json!({ "signature": signature })))
}

#[cfg(test)]
mod tests {
    use super::chain_of;

    #[test]
    fn chains_by_rpc_url() {
        assert_eq!(chain_of("http://127.0.0.1:8899"), Some("solana:localnet"));
        assert_eq!(chain_of("http://localhost:8899/"), Some("solana:localnet"));
        assert_eq!(chain_of("http://[::1]:8899"), Some("solana:localnet"));
        assert_eq!(
            chain_of("https://api.devnet.solana.com"),
            Some("solana:devnet")
        );
        assert_eq!(
            chain_of("https://api.testnet.solana.com"),
            Some("solana:testnet")
        );
        assert_eq!(
            chain_of("https://api.mainnet-beta.solana.com"),
            Some("solana:mainnet")
        );
        assert_eq!(chain_of("https://rpc.example.org/devnet-like?x=1"), None);
        assert_eq!(chain_of("https://rpc.example.org"), None);
    }
}
