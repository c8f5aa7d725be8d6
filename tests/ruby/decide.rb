# frozen_string_literal: true

# Runs one decision of workflows-examples/fastlane/bridge_release.rb against an App Store
# Connect API (in the tests: the fake on 127.0.0.1) and prints it as one JSON object.
#
#   ruby tests/ruby/decide.rb submission '{"app_id": "…", "build_upload_id": "…"}'
#   ruby tests/ruby/decide.rb live_version '{"app_store_version_id": "…"}'
#
# Environment: ASC_API_URL, ASC_KEY_ID, ASC_ISSUER_ID, ASC_PRIVATE_KEY (PEM). Standard library
# only: the GET function signs its own ES256 token, as the Fastfile's asc_get does with
# fastlane's.

require "base64"
require "json"
require "net/http"
require "openssl"
require "uri"
require_relative "../../workflows-examples/fastlane/bridge_release"

# GET with an App Store Connect team-key token (ES256, 20 minutes at most).
class AscGet
  def initialize(base_url:, key_id:, issuer_id:, private_key:)
    @base = URI("#{base_url.chomp('/')}/")
    @key_id = key_id
    @issuer_id = issuer_id
    @key = OpenSSL::PKey::EC.new(private_key)
  end

  def call(path, query)
    uri = URI.join(@base, path)
    uri.query = URI.encode_www_form(query) unless query.empty?
    request = Net::HTTP::Get.new(uri)
    request["Authorization"] = "Bearer #{token}"
    request["Accept"] = "application/json"
    response = Net::HTTP.start(uri.host, uri.port, open_timeout: 5, read_timeout: 10) do |http|
      http.request(request)
    end
    raise "GET #{uri.path} answered #{response.code}: #{response.body}" unless response.is_a?(Net::HTTPSuccess)

    JSON.parse(response.body)
  end

  private

  def token
    now = Time.now.to_i
    header = { alg: "ES256", kid: @key_id, typ: "JWT" }
    claims = { iss: @issuer_id, iat: now, exp: now + 1200, aud: "appstoreconnect-v1" }
    signing_input = [header, claims].map { |part| b64(JSON.generate(part)) }.join(".")
    der = @key.sign(OpenSSL::Digest.new("SHA256"), signing_input)
    # JWS wants r || s (32 bytes each), OpenSSL gives an ASN.1 sequence of two integers.
    r, s = OpenSSL::ASN1.decode(der).value.map { |n| n.value.to_s(2).rjust(32, "\0") }
    "#{signing_input}.#{b64(r + s)}"
  end

  def b64(bytes)
    Base64.urlsafe_encode64(bytes, padding: false)
  end
end

command, arguments = ARGV
get = AscGet.new(
  base_url: ENV.fetch("ASC_API_URL"), key_id: ENV.fetch("ASC_KEY_ID"),
  issuer_id: ENV.fetch("ASC_ISSUER_ID"), private_key: ENV.fetch("ASC_PRIVATE_KEY")
)
options = JSON.parse(arguments || "{}").transform_keys(&:to_sym)
decision =
  case command
  when "submission" then BridgeRelease.submission(get, **options)
  when "live_version" then BridgeRelease.live_version(get, **options)
  else abort("unknown decision #{command.inspect}")
  end
puts JSON.generate(decision.to_json_hash)
