# frozen_string_literal: true

# What the bridge lanes decide (Fastfile: submit_build_for_review, check_live), in plain Ruby
# with the standard library only, so that the decisions are tested without fastlane or a Mac:
# tests/test_fastlane_decisions.py runs them against a fake App Store Connect.
#
# Each function takes `get`, anything with `call(path, query) -> Hash` that GETs an App Store
# Connect API path (e.g. "v1/buildUploads/ID") with its query parameters, authenticated, and
# returns the parsed JSON or raises. The Fastfile passes its asc_get.

module BridgeRelease
  # The App Store version states a build can be submitted from.
  SUBMITTABLE_STATES = %w[
    PREPARE_FOR_SUBMISSION DEVELOPER_REJECTED REJECTED METADATA_REJECTED INVALID_BINARY
  ].freeze
  LIVE_STATE = "READY_FOR_DISTRIBUTION"
  ID_FORMAT = /\A[A-Za-z0-9-]{1,64}\z/.freeze
  VERSION_FORMAT = /\A\d+(\.\d+){0,3}\z/.freeze
  BUILD_NUMBER_FORMAT = /\A\d+(\.\d+){0,2}\z/.freeze

  # What to do: :submit (exactly build_id, as version + build_number), :release (the version
  # is live: merge it), :skip (nothing to do, nothing wrong: the build stays on TestFlight),
  # or :refuse (the event and App Store Connect disagree: fail the run and say why).
  Decision = Struct.new(
    :action, :reason, :version, :build_number, :build_id, :app_store_version_id, :state,
    keyword_init: true
  ) do
    def to_json_hash
      to_h.transform_keys(&:to_s).merge("action" => action.to_s)
    end
  end

  module_function

  # Whether the build of App Store Connect's build upload `build_upload_id` goes to App Review.
  # `version` and `build_number`, when the event carried them (bridge's details), must be the
  # upload's own. Submits only the upload's own build, only when it is processed, is the
  # newest build of its version (an older one is a stale event, e.g. recovered late), and an
  # App Store version with its version string is being prepared or was rejected.
  def submission(get, app_id:, build_upload_id:, version: nil, build_number: nil)
    upload_id = id!(build_upload_id, "build_upload_id")
    app = id!(app_id, "app id")
    attributes = get.call("v1/buildUploads/#{upload_id}", {}).dig("data", "attributes") || {}
    up_version = attributes["cfBundleShortVersionString"].to_s
    up_build = attributes["cfBundleVersion"].to_s
    label = "Build #{up_version} (#{up_build})"
    facts = { version: up_version, build_number: up_build }

    named = [version.to_s, build_number.to_s]
    if (!named[0].empty? && named[0] != up_version) || (!named[1].empty? && named[1] != up_build)
      return refuse("The event names build #{named[0]} (#{named[1]}) but build upload " \
                    "#{upload_id} is #{up_version} (#{up_build}): not submitted.", **facts)
    end
    platform = attributes["platform"]
    unless [nil, "IOS"].include?(platform)
      return skip("#{label} is for #{platform}: not submitted.", **facts)
    end
    upload_state = attributes.dig("state", "state")
    unless upload_state == "COMPLETE"
      return refuse("#{label}: the upload is #{upload_state.inspect}, not COMPLETE: " \
                    "not submitted.", **facts)
    end
    unless up_version.match?(VERSION_FORMAT) && up_build.match?(BUILD_NUMBER_FORMAT)
      return refuse("Build upload #{upload_id}: unusable version #{up_version.inspect} or " \
                    "build number #{up_build.inspect}: not submitted.", **facts)
    end

    builds = list(get, "v1/builds", "filter[app]" => app,
                                    "filter[preReleaseVersion.version]" => up_version,
                                    "limit" => "200")
    build = builds.find { |b| b.dig("attributes", "version") == up_build }
    unless build
      return refuse("#{label}: App Store Connect has no build #{up_build} of version " \
                    "#{up_version} for this app: not submitted.", **facts)
    end
    build_state = build.dig("attributes", "processingState")
    if build_state != "VALID" || build.dig("attributes", "expired")
      return refuse("#{label}: the build is #{build_state}#{build.dig('attributes', 'expired') ? ', expired' : ''}, " \
                    "not VALID: not submitted.", **facts, build_id: build["id"])
    end
    newer = builds.map { |b| b.dig("attributes", "version").to_s }
                  .select { |number| compare_build_numbers(number, up_build).positive? }
    unless newer.empty?
      newest = newer.max { |a, b| compare_build_numbers(a, b) }
      return refuse("#{label} is not the newest build of #{up_version}: build #{newest} came " \
                    "after it (a late or replayed event): not submitted.",
                    **facts, build_id: build["id"])
    end

    versions = list(get, "v1/apps/#{app}/appStoreVersions",
                    "filter[platform]" => "IOS", "filter[versionString]" => up_version)
    store_version = versions.find { |v| v.dig("attributes", "versionString") == up_version }
    unless store_version
      return skip("#{label} stays on TestFlight: no App Store version #{up_version} is " \
                  "being prepared.", **facts, build_id: build["id"])
    end
    state = app_version_state(store_version["attributes"] || {})
    unless SUBMITTABLE_STATES.include?(state)
      return refuse("#{label} not submitted: App Store version #{up_version} is #{state}, " \
                    "it has moved on.", **facts, build_id: build["id"],
                                          app_store_version_id: store_version["id"], state: state)
    end
    Decision.new(action: :submit, reason: "Submit #{label} for App Store review.", **facts,
                 build_id: build["id"], app_store_version_id: store_version["id"], state: state)
  end

  # Whether App Store version `app_store_version_id` is live (READY_FOR_DISTRIBUTION), so
  # that its release branch may be merged: :release, or :refuse with the state it is in.
  def live_version(get, app_store_version_id:)
    version_id = id!(app_store_version_id, "app_store_version_id")
    attributes = get.call("v1/appStoreVersions/#{version_id}", {}).dig("data", "attributes") || {}
    version = attributes["versionString"].to_s
    state = app_version_state(attributes)
    facts = { version: version, app_store_version_id: version_id, state: state }
    unless version.match?(VERSION_FORMAT)
      return refuse("App Store version #{version_id} has no usable version string " \
                    "(#{version.inspect}): not merging.", **facts)
    end
    unless state == LIVE_STATE
      return refuse("App Store version #{version} is #{state}, not #{LIVE_STATE}: " \
                    "not merging.", **facts)
    end
    Decision.new(action: :release, reason: "App Store version #{version} is live.", **facts)
  end

  # appVersionState replaced the deprecated appStoreState (App Store Connect API 3.3).
  def app_version_state(attributes)
    attributes["appVersionState"] || attributes["appStoreState"]
  end

  # Build numbers compare as dot-separated integers ("10" after "9", "1.2.10" after "1.2.9").
  def compare_build_numbers(left, right)
    a = left.split(".").map(&:to_i)
    b = right.split(".").map(&:to_i)
    width = [a.size, b.size].max
    (a + [0] * (width - a.size)) <=> (b + [0] * (width - b.size))
  end

  # App Store Connect ids are opaque tokens (UUIDs, base62): anything else is refused before
  # it becomes part of a URL path.
  def id!(value, name)
    text = value.to_s.strip
    raise ArgumentError, "#{name}: expected an App Store Connect id, got #{text.inspect}" unless text.match?(ID_FORMAT)

    text
  end

  def list(get, path, query)
    data = get.call(path, query).fetch("data", [])
    data.is_a?(Array) ? data : []
  end

  def refuse(reason, **facts)
    Decision.new(action: :refuse, reason: reason, **facts)
  end

  def skip(reason, **facts)
    Decision.new(action: :skip, reason: reason, **facts)
  end
end
