//! The admin commands of the `roster` binary, one module each.

pub mod apps;
pub mod events;
pub mod export;
pub mod import;
pub mod pull;
pub mod record;

/// Connects to the registry (`registry.endpoint`), naming it when it cannot be reached. Answers
/// may be large (an import's list of refused users, an export's pages): up to 256 MB.
pub async fn registry(
    endpoint: &str,
) -> anyhow::Result<proto::registry::v1::registry_service_client::RegistryServiceClient<tonic::transport::Channel>> {
    use anyhow::Context as _;
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())?
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot reach the registry at {endpoint}"))?;
    let client = proto::registry::v1::registry_service_client::RegistryServiceClient::new(channel);
    Ok(client.max_decoding_message_size(256 * 1024 * 1024))
}
