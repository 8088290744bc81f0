# massage-estimator: the gRPC quote service, with the sample rules built in.
#   docker build -t massage-estimator:0.1.0 .
#   docker run --rm -v estimator-data:/data massage-estimator:0.1.0 \
#     tokens create --name ops --role admin      # prints the token once; keep it
#   docker run --rm -p 50051:50051 -v estimator-data:/data massage-estimator:0.1.0
# The image listens on 0.0.0.0, so it refuses to start until authentication is configured: an
# API key in the store (as above) or a JWT issuer (MASSAGE_ESTIMATOR_JWT_ISSUER, _AUDIENCE,
# _JWKS_FILE); docs/security.md.
# Point MASSAGE_ESTIMATOR_DATABASE_URL at PostgreSQL to run several replicas on one database
# (docs/operations.md). No Docker engine runs in CI: scripts/check_container_build.sh lints this
# file and replays its build and run steps.

# Build stage: a wheel built with build isolation. grpcio-tools (in pyproject.toml's
# [build-system] requires) generates the gRPC code inside pip's throwaway build environment,
# so it never reaches /opt/venv; the wheel also carries the sample rules as package data.
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY protos/ protos/
COPY scripts/gen_protos.py scripts/
COPY service/ service/
COPY payer_rules/ payer_rules/
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install /wheels/massage_estimator-*.whl

# Run stage: the virtualenv only (no compiler, no sources, no grpcio-tools), as a non-root user.
FROM python:3.11.14-slim-bookworm
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin estimator \
    && mkdir -p /data \
    && chown estimator:estimator /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MASSAGE_ESTIMATOR_HOST=0.0.0.0 \
    MASSAGE_ESTIMATOR_PORT=50051 \
    MASSAGE_ESTIMATOR_DATABASE_URL=sqlite:////data/massage-estimator.db
WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import grpc,os,sys;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;p=os.environ.get('MASSAGE_ESTIMATOR_PORT','50051');s=g.HealthStub(grpc.insecure_channel('127.0.0.1:'+p)).Check(h.HealthCheckRequest(),timeout=2).status;sys.exit(0 if s==h.HealthCheckResponse.SERVING else 1)"]
ENTRYPOINT ["massage-estimator"]
CMD ["serve"]
