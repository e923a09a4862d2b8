"""`Client`: the common calls of the leverage API in one object.

Each method builds the request from plain Python values, makes the call, and turns a failure into
a `LeverageError` subclass carrying the decoded rich error (see `errors`). The generated stubs stay
available as attributes (`client.assets`, `client.scoring`, ...) for everything else, and the
messages returned are the generated protobuf messages.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

import grpc

from . import frames, values
from .consistency import DATASET_VERSION_HEADER, ReadYourWrites
from ._stubs import (
    assets_pb2,
    assets_pb2_grpc,
    dataset_pb2,
    dataset_pb2_grpc,
    funding_pb2,
    funding_pb2_grpc,
    legal_pb2,
    legal_pb2_grpc,
    scoring_pb2,
    scoring_pb2_grpc,
)
from .errors import from_rpc_error
from .scenarios import PluginLike, ScenarioBuilder, checked_request_parts
from .values import DateLike

DEFAULT_TARGET = "localhost:50051"

ProgressCallback = Callable[[int, int], None]

# grpc core's channel argument for the encodings a channel may use and says it accepts
# (`grpc-accept-encoding`), as a bitset over grpc_compression_algorithm: identity 0, deflate 1,
# gzip 2.
_ENABLED_ENCODINGS_ARG = "grpc.compression_enabled_algorithms_bitset"
_IDENTITY, _DEFLATE, _GZIP = 1 << 0, 1 << 1, 1 << 2

CompressionLike = Union[None, str, grpc.Compression]


def _channel_options(compression: CompressionLike) -> tuple:
    """The channel's compression and its arguments for `compression`: None or "none" (calls
    and replies plain), "gzip" or grpc.Compression.Gzip (both ways gzip), "deflate" (which grpcio
    speaks but the leverage server does not: calls fail with UNIMPLEMENTED). zstd, which the
    server speaks, is not in grpcio."""
    if isinstance(compression, str):
        name = compression.strip().lower()
        if name == "zstd":
            raise ValueError(
                "compression='zstd': grpcio has no zstd (only gzip and deflate); use 'gzip', "
                "or zstd from the leverage CLI (--compression zstd)"
            )
        by_name = {
            "none": grpc.Compression.NoCompression,
            "identity": grpc.Compression.NoCompression,
            "gzip": grpc.Compression.Gzip,
            "deflate": grpc.Compression.Deflate,
        }
        if name not in by_name:
            raise ValueError(f"compression={compression!r}: expected 'none', 'gzip' or 'deflate'")
        compression = by_name[name]
    if compression is None:
        compression = grpc.Compression.NoCompression
    # grpc core says it accepts deflate and gzip on every channel by default, and the server
    # answers in what the caller accepts: without compression asked for, accept none, so that
    # the replies stay plain as they were.
    enabled = {
        grpc.Compression.NoCompression: _IDENTITY,
        grpc.Compression.Gzip: _IDENTITY | _GZIP,
        grpc.Compression.Deflate: _IDENTITY | _DEFLATE,
    }[compression]
    return compression, [(_ENABLED_ENCODINGS_ARG, enabled)]


class Client:
    """A connection to a leverage server.

    >>> with Client("localhost:50051") as client:
    ...     holding = client.get_holding("euroclear-sanctioned-russian", as_of="2024-12-31")

    `token` is sent as `authorization: Bearer <token>` on every call (writes need one).
    `credentials` (grpc.ssl_channel_credentials(...)) makes a TLS channel; `channel` uses one
    you made. `timeout` (seconds) applies to every unary call; sweeps have their own.

    `compression="gzip"` (or grpc.Compression.Gzip) compresses the calls and asks for gzip
    replies, which pays for the large lists and assessments on a slow link; plain by default.
    zstd, which the server also speaks, is not in grpcio; "deflate" is, but the server answers
    it with UNIMPLEMENTED. It applies to the channel this client makes, not to `channel`.

    `dataset_version` pins every call to the dataset as it was at that version (see
    `at_version`); `last_dataset_version` is the version the last reply was served from (for a
    write, the version that holds it).

    Reads see this client's own writes, whichever replica serves them: every call asks for at
    least `last_written_version`, the newest version a write of this client created (through
    its methods or its stubs), unless it is pinned to a version. `read_your_writes=False` stops
    asking (the version is still remembered).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        token: Optional[str] = None,
        timeout: Optional[float] = 30.0,
        credentials: Optional[grpc.ChannelCredentials] = None,
        channel: Optional[grpc.Channel] = None,
        dataset_version: Optional[int] = None,
        read_your_writes: bool = True,
        compression: CompressionLike = None,
        _written: Optional[ReadYourWrites] = None,
    ) -> None:
        if channel is None:
            algorithm, options = _channel_options(compression)
            if credentials is None:
                channel = grpc.insecure_channel(target, options, algorithm)
            else:
                channel = grpc.secure_channel(target, credentials, options, algorithm)
        elif compression is not None:
            raise ValueError(
                "compression applies to the channel the client makes: make `channel` with "
                "grpc's compression= instead"
            )
        # Copies made by `at_version` share the channel and what was written through it.
        self._plain_channel = channel
        self._written = _written if _written is not None else ReadYourWrites(read_your_writes)
        self.channel = grpc.intercept_channel(channel, self._written)
        self.timeout = timeout
        self._token = token
        self.dataset_version = dataset_version
        self.last_dataset_version: Optional[int] = None
        metadata = [("authorization", f"Bearer {token}")] if token else []
        if dataset_version is not None:
            metadata.append((DATASET_VERSION_HEADER, str(int(dataset_version))))
        self._metadata = tuple(metadata)
        self.assets = assets_pb2_grpc.AssetServiceStub(self.channel)
        self.dataset = dataset_pb2_grpc.DatasetServiceStub(self.channel)
        self.legal = legal_pb2_grpc.LegalRiskServiceStub(self.channel)
        self.funding = funding_pb2_grpc.DefenceFundingServiceStub(self.channel)
        self.scoring = scoring_pb2_grpc.ScoringServiceStub(self.channel)

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the channel is connected (raises grpc.FutureTimeoutError otherwise)."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    @property
    def last_written_version(self) -> Optional[int]:
        """The newest dataset version that a write of this client created (None before its
        first write), which later calls ask for. Settable, e.g. to a version another process
        wrote, to read that write; None forgets it."""
        return self._written.version

    @last_written_version.setter
    def last_written_version(self, version: Optional[int]) -> None:
        self._written.version = version

    @property
    def read_your_writes(self) -> bool:
        """Whether calls ask for at least `last_written_version`."""
        return self._written.enabled

    @read_your_writes.setter
    def read_your_writes(self, enabled: bool) -> None:
        self._written.enabled = bool(enabled)

    def at_version(self, dataset_version: int) -> "Client":
        """A client on the same channel whose every call reads the dataset as it was at
        `dataset_version` (e.g. a score's `dataset_version`, to reproduce it exactly)."""
        return Client(
            channel=self._plain_channel,
            token=self._token,
            timeout=self.timeout,
            dataset_version=dataset_version,
            _written=self._written,
        )

    def _call(self, method, request, timeout: Optional[float] = None):
        try:
            response, call = method.with_call(
                request,
                timeout=self.timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e
        for key, value in call.initial_metadata() or ():
            if key == DATASET_VERSION_HEADER:
                self.last_dataset_version = int(value)
        return response

    def _stream(self, method, request, timeout: Optional[float]):
        call = method(request, timeout=timeout, metadata=self._metadata)
        try:
            yield from call
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e
        finally:
            # A caller that stops reading early ends the call on the server too.
            call.cancel()

    # -- discovery -----------------------------------------------------------------------------

    def services(self) -> List[str]:
        """The full names of the services the server offers, found through reflection."""
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
            ProtoReflectionDescriptorDatabase,
        )

        try:
            return sorted(ProtoReflectionDescriptorDatabase(self.channel).get_services())
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e

    def dataset_info(self) -> dataset_pb2.DatasetInfo:
        """The dataset's version, description and record counts."""
        return self._call(self.dataset.GetDatasetInfo, dataset_pb2.GetDatasetInfoRequest())

    # -- assets --------------------------------------------------------------------------------

    def list_holdings(
        self,
        *,
        filter: str = "",
        order_by: str = "",
        as_of: DateLike = None,
        full: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> assets_pb2.ListHoldingsResponse:
        """One page of holdings (`next_page_token` leads to the next); see `holdings` for all."""
        request = assets_pb2.ListHoldingsRequest(
            filter=filter,
            order_by=order_by,
            as_of=values.date(as_of),
            view=assets_pb2.HOLDING_VIEW_FULL if full else assets_pb2.HOLDING_VIEW_BASIC,
            page_size=page_size,
            page_token=page_token,
        )
        return self._call(self.assets.ListHoldings, request)

    def holdings(
        self,
        *,
        filter: str = "",
        order_by: str = "",
        as_of: DateLike = None,
        full: bool = False,
        page_size: int = 100,
    ) -> Iterator[assets_pb2.Holding]:
        """Every holding matching `filter` (AIP-160 subset, e.g. "owner_kind = CENTRAL_BANK"),
        each with the observation in force on `as_of`, following the pages."""
        token = ""
        while True:
            page = self.list_holdings(
                filter=filter,
                order_by=order_by,
                as_of=as_of,
                full=full,
                page_size=page_size,
                page_token=token,
            )
            yield from page.holdings
            token = page.next_page_token
            if not token:
                return

    def get_holding(self, name: str, *, as_of: DateLike = None) -> assets_pb2.Holding:
        """One holding ("euroclear-bank" or "holdings/euroclear-bank") with its full series;
        `current` is the observation in force on `as_of`."""
        request = assets_pb2.GetHoldingRequest(
            name=values.resource_name("holdings", name), as_of=values.date(as_of)
        )
        return self._call(self.assets.GetHolding, request)

    def list_observations(
        self,
        holding: str,
        *,
        newest_first: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> assets_pb2.ListObservationsResponse:
        """One page of a holding's observations, oldest first unless `newest_first`; see
        `observations` for all."""
        request = assets_pb2.ListObservationsRequest(
            parent=values.resource_name("holdings", holding),
            order_by="as_of desc" if newest_first else "as_of",
            page_size=page_size,
            page_token=page_token,
        )
        return self._call(self.assets.ListObservations, request)

    def observations(
        self, holding: str, *, newest_first: bool = False, page_size: int = 100
    ) -> Iterator[assets_pb2.Observation]:
        """Every observation of a holding, following the pages: for series too long to take
        whole from `get_holding`."""
        token = ""
        while True:
            page = self.list_observations(
                holding, newest_first=newest_first, page_size=page_size, page_token=token
            )
            yield from page.observations
            token = page.next_page_token
            if not token:
                return

    def summarize_holdings(
        self,
        *,
        currency: str = "EUR",
        as_of: DateLike = None,
        filter: str = "",
        group_by: Union[str, int, None] = None,
    ) -> assets_pb2.SummarizeHoldingsResponse:
        """The sum of the located holdings in one currency, grouped ("jurisdiction",
        "custodian", "owner_kind", "instrument"), with the aggregate estimates beside it."""
        request = assets_pb2.SummarizeHoldingsRequest(
            currency_code=currency, as_of=values.date(as_of), filter=filter
        )
        if group_by is not None:
            request.group_by = values.enum_value(assets_pb2.GroupBy, "GROUP_BY_", group_by)
        return self._call(self.assets.SummarizeHoldings, request)

    def create_holding(self, holding_id: str, holding: assets_pb2.Holding) -> assets_pb2.Holding:
        """Creates a holding (needs a token)."""
        request = assets_pb2.CreateHoldingRequest(holding_id=holding_id, holding=holding)
        return self._call(self.assets.CreateHolding, request)

    def create_observation(
        self, holding: str, observation: assets_pb2.Observation, *, observation_id: str = ""
    ) -> assets_pb2.Observation:
        """Adds a dated, sourced observation to a holding (needs a token)."""
        request = assets_pb2.CreateObservationRequest(
            parent=values.resource_name("holdings", holding),
            observation_id=observation_id,
            observation=observation,
        )
        return self._call(self.assets.CreateObservation, request)

    def delete_holding(self, name: str) -> None:
        """Deletes a holding softly (needs a token)."""
        request = assets_pb2.DeleteHoldingRequest(name=values.resource_name("holdings", name))
        self._call(self.assets.DeleteHolding, request)

    def correct_observation(
        self, observation: assets_pb2.Observation, fields: Sequence[str], *, reason: str
    ) -> assets_pb2.Observation:
        """Corrects the `fields` ("amount", "as_of", "source", ...) of the observation named by
        `observation.name` (needs a token). The old value stays readable at earlier dataset
        versions and in `record_versions`, with `reason`."""
        request = assets_pb2.UpdateObservationRequest(
            observation=observation, reason=reason
        )
        request.update_mask.paths.extend(fields)
        return self._call(self.assets.UpdateObservation, request)

    def withdraw_observation(self, name: str, *, reason: str) -> None:
        """Withdraws an observation from later dataset versions (needs a token)."""
        request = assets_pb2.DeleteObservationRequest(name=name, reason=reason)
        self._call(self.assets.DeleteObservation, request)

    # -- dataset versions, imports and exports --------------------------------------------------

    def dataset_versions(self, *, page_size: int = 100) -> Iterator[dataset_pb2.DatasetVersion]:
        """The dataset's versions, newest first: who, when, how, why, what changed."""
        token = ""
        while True:
            page = self._call(
                self.dataset.ListDatasetVersions,
                dataset_pb2.ListDatasetVersionsRequest(page_size=page_size, page_token=token),
            )
            yield from page.dataset_versions
            token = page.next_page_token
            if not token:
                return

    def record_versions(self, name: str) -> List[dataset_pb2.RecordVersion]:
        """Every value a record ("figures/WF-012", "holdings/h/observations/o", ...) had,
        oldest first, with who set it, when and why."""
        request = dataset_pb2.ListRecordVersionsRequest(name=name)
        return list(self._call(self.dataset.ListRecordVersions, request).record_versions)

    def import_file(
        self, path: Union[str, "os.PathLike[str]"], *, dry_run: bool = False
    ) -> dataset_pb2.ImportDatasetResponse:
        """Imports a dataset TOML, an observations or rates CSV, or an ECB reference-rate CSV
        (needs a token): every row checked first, then merged as one dataset version."""
        import os

        with open(path, "rb") as f:
            content = f.read()
        request = dataset_pb2.ImportDatasetRequest(
            file_name=os.path.basename(os.fspath(path)), content=content, dry_run=dry_run
        )
        return self._call(self.dataset.ImportDataset, request)

    def export_dataset(self) -> str:
        """The whole dataset (at this client's `dataset_version`, or the newest) as the TOML
        of data/dataset.toml."""
        chunks = self._stream(self.dataset.ExportDataset, dataset_pb2.ExportDatasetRequest(), self.timeout)
        return b"".join(c.content for c in chunks).decode("utf-8")

    # -- legal risk ----------------------------------------------------------------------------

    def assess_legal_risk(
        self,
        action: Union[str, int],
        jurisdictions: Iterable[str] = (),
        *,
        as_of: DateLike = None,
        currency: str = "",
    ) -> legal_pb2.AssessLegalRiskResponse:
        """The modelled legal risk of an action ("confiscation", "windfall_profits",
        "reparations_loan", ...) in each jurisdiction (all with assets when none given)."""
        request = legal_pb2.AssessLegalRiskRequest(
            action=values.action(action),
            jurisdictions=list(jurisdictions),
            as_of=values.date(as_of),
            currency_code=currency,
        )
        return self._call(self.legal.AssessLegalRisk, request)

    # -- defence funding -----------------------------------------------------------------------

    def check_eligibility(
        self,
        country: str,
        *,
        instrument: str = "safe",
        as_of: DateLike = None,
        outside_component_share_pct: Optional[float] = None,
    ) -> funding_pb2.CheckEligibilityResponse:
        """Whether `country` (ISO code) may take part in an instrument ("safe" by default) on
        `as_of`, optionally for a procurement with that share of components from outside."""
        request = funding_pb2.CheckEligibilityRequest(
            instrument=values.resource_name("instruments", instrument),
            country=country,
            as_of=values.date(as_of),
        )
        if outside_component_share_pct is not None:
            request.outside_component_share_pct = outside_component_share_pct
        return self._call(self.funding.CheckEligibility, request)

    # -- scoring -------------------------------------------------------------------------------

    def plugins(self) -> List[scoring_pb2.Plugin]:
        """Every plugin the server found, loaded or refused."""
        found, token = [], ""
        while True:
            page = self._call(
                self.scoring.ListPlugins,
                scoring_pb2.ListPluginsRequest(page_size=100, page_token=token),
            )
            found.extend(page.plugins)
            token = page.next_page_token
            if not token:
                return found

    def get_plugin(self, name: str) -> scoring_pb2.Plugin:
        """One plugin ("fixture-escrow", "plugins/fixture-escrow", or a retained build
        "plugins/fixture-escrow@BUILD"): what it reads and returns, its build and state."""
        request = scoring_pb2.GetPluginRequest(name=values.resource_name("plugins", name))
        return self._call(self.scoring.GetPlugin, request)

    def scenario_for(
        self, plugin: Union[str, scoring_pb2.Plugin], **settings
    ) -> ScenarioBuilder:
        """A scenario for `plugin` (a name as `get_plugin` takes it, or a `Plugin` from
        `plugins()`), checked against the plugin's schema as it is built: see
        `ScenarioBuilder`. `settings` are set on it at once.

        >>> s = client.scenario_for("fixture-escrow", use_mode="reparations_loan")
        >>> client.score(s.set(escrow_share=0.4), parameters={"weight": 0.3})
        """
        if isinstance(plugin, scoring_pb2.Plugin):
            builder = ScenarioBuilder(plugin)
        else:
            name = values.resource_name("plugins", plugin)
            builder = ScenarioBuilder(self.get_plugin(name), name=name)
        return builder.set(**settings)

    def score(
        self,
        plugin: PluginLike,
        scenario: Union[scoring_pb2.Scenario, ScenarioBuilder, None] = None,
        *,
        parameters: Optional[Mapping[str, float]] = None,
        **fields,
    ) -> scoring_pb2.ScoreResult:
        """Scores one scenario with a plugin ("prudent-pressure" or "plugins/prudent-pressure",
        or a build "plugins/ID@BUILD"). Pass a Scenario, or its fields by keyword as in
        `values.scenario`; or a `ScenarioBuilder` alone (`client.score(builder)`), which is
        checked, with `parameters`, against the plugin's schema before the call.

        `parameters` ({name: value}) set the plugin's parameters for this call only. The
        result lists every parameter with the value used (`parameters`) and the build that
        scored (`plugin_build`)."""
        if isinstance(plugin, ScenarioBuilder) and scenario is None:
            scenario = plugin
        if scenario is None:
            scenario = values.scenario(**fields)
        elif fields:
            raise TypeError("pass a scenario or its fields, not both")
        name, (message,), params = checked_request_parts(
            plugin, [scenario], ["scenario"], parameters
        )
        request = scoring_pb2.ScoreScenarioRequest(
            plugin=name, scenario=message, parameters=params
        )
        return self._call(self.scoring.ScoreScenario, request).result

    def score_many(
        self,
        plugin: PluginLike,
        scenarios: Iterable[Union[scoring_pb2.Scenario, ScenarioBuilder]],
        *,
        parameters: Optional[Mapping[str, float]] = None,
    ) -> List[scoring_pb2.ScenarioOutcome]:
        """Scores many scenarios with one plugin in one call (ScoreScenarios): one outcome per
        scenario, in order, each a `result` or an `error` of its own. Builders among the
        scenarios (e.g. `[s.copy(escrow_share=x) for x in shares]`) and `parameters` are
        checked against the plugin's schema before the call."""
        scenarios = list(scenarios)
        name, messages, params = checked_request_parts(
            plugin, scenarios, [f"scenarios[{i}]" for i in range(len(scenarios))], parameters
        )
        request = scoring_pb2.ScoreScenariosRequest(
            plugin=name, scenarios=messages, parameters=params
        )
        return list(self._call(self.scoring.ScoreScenarios, request).outcomes)

    def sweep_chunks(
        self,
        plugin: PluginLike,
        axes: Sequence[scoring_pb2.SweepAxis],
        *,
        base: Union[scoring_pb2.Scenario, ScenarioBuilder, None] = None,
        parameters: Optional[Mapping[str, float]] = None,
        chunk_size: int = 0,
        timeout: Optional[float] = None,
    ) -> Iterator[scoring_pb2.SweepScenarioResponse]:
        """The streamed chunks of a sweep, as the server sends them (component names, the
        parameters used and the build in the first, progress in each)."""
        if isinstance(plugin, ScenarioBuilder) and base is None:
            base = plugin
        axes = list(axes)
        name, (message,), params = checked_request_parts(
            plugin, [base], ["base"], parameters, axes
        )
        request = scoring_pb2.SweepScenarioRequest(
            plugin=name,
            base=message,
            axes=axes,
            chunk_size=chunk_size,
            parameters=params,
        )
        return self._stream(self.scoring.SweepScenario, request, timeout)

    def sweep(
        self,
        plugin: PluginLike,
        axes: Sequence[scoring_pb2.SweepAxis],
        *,
        base: Union[scoring_pb2.Scenario, ScenarioBuilder, None] = None,
        parameters: Optional[Mapping[str, float]] = None,
        chunk_size: int = 0,
        on_progress: Optional[ProgressCallback] = None,
        timeout: Optional[float] = None,
    ) -> "SweepPoints":
        """The points of a sweep over one or two levers or inputs of the plugin's own
        (`values.axis(...)`), in index order, calling `on_progress(done, total)` after each
        chunk. With a `ScenarioBuilder` as `plugin` (or `base`), the base scenario, the axes
        and `parameters` are checked against the plugin's schema before the call. Once the
        first point has arrived, the returned iterator's `parameters` and `plugin_build` say
        what scored them; `to_frame()` reads them all into a pandas DataFrame."""
        axes = list(axes)
        chunks = self.sweep_chunks(
            plugin, axes, base=base, parameters=parameters, chunk_size=chunk_size,
            timeout=timeout,
        )
        return SweepPoints(chunks, on_progress, axis_names=[frames.axis_name(a) for a in axes])


class SweepPoints:
    """The points of a sweep, in index order (an iterator). After the first chunk has arrived:
    `component_names`, `parameters` ({name: value} of every parameter the sweep used) and
    `plugin_build` (the build that scored). `close()` (or leaving a `with` block) ends the call
    on the server too. `to_frame()` reads every point into a pandas DataFrame; `axis_names`
    name its lever columns (`Client.sweep` sets them from the axes)."""

    def __init__(
        self,
        chunks: Iterator[scoring_pb2.SweepScenarioResponse],
        on_progress: Optional[ProgressCallback] = None,
        *,
        axis_names: Sequence[str] = (),
    ) -> None:
        self.axis_names: List[str] = list(axis_names)
        self._yielded = 0
        self._chunks = chunks
        self._on_progress = on_progress
        self._points: Iterator[scoring_pb2.SweepPoint] = iter(())
        self._progress: Optional[scoring_pb2.SweepProgress] = None
        self.component_names: List[str] = []
        self.parameters: Dict[str, float] = {}
        self.plugin_build = ""
        self._started = False

    def __iter__(self) -> "SweepPoints":
        return self

    def __next__(self) -> scoring_pb2.SweepPoint:
        while True:
            point = next(self._points, None)
            if point is not None:
                self._yielded += 1
                return point
            # The chunk's points are all out: report its progress, then read the next chunk.
            if self._progress is not None and self._on_progress is not None:
                self._on_progress(self._progress.done, self._progress.total)
            self._progress = None
            chunk = next(self._chunks)  # StopIteration ends the sweep
            if not self._started:
                self._started = True
                self.component_names = list(chunk.component_names)
                self.parameters = values.named_values(chunk.parameters)
                self.plugin_build = chunk.plugin_build
            self._points = iter(chunk.points)
            self._progress = chunk.progress

    def to_frame(self):
        """Every point of the sweep as a pandas DataFrame, one row per point in index order:
        `index`, one column per axis (the lever's short name, e.g. "interest_rate_pct", or the
        plugin's own input, e.g. "escrow.share"), `score`, one column per component, and
        `error.reason`/`error.message` for a point that failed (see `frames.sweep_frame`).
        Reads the whole stream, so call it before iterating: points already read are not
        read again, and a frame without them would be silently short, which is refused."""
        if self._yielded:
            raise RuntimeError(
                f"to_frame() after {self._yielded} points were read: the frame would miss "
                "them; call it on a fresh sweep"
            )
        frames._pandas()  # a missing pandas is reported before the stream is read
        points = list(self)
        return frames.sweep_frame(
            points, axis_names=self.axis_names, component_names=self.component_names
        )

    def close(self) -> None:
        """Stops reading; the call is cancelled on the server."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "SweepPoints":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
