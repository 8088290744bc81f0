# massage-estimator: the gRPC quote service on its built-in sample rules.
#   docker build -t massage-estimator .
#   docker run --rm -p 50051:50051 -v estimator-data:/data massage-estimator
# Point MASSAGE_ESTIMATOR_DATABASE_URL at PostgreSQL to run several replicas on one database.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos/ protos/
COPY scripts/gen_protos.py scripts/
COPY service/ service/
# Generate the gRPC code with the pinned grpcio-tools, then install the wheel (which maps the
# generated package in) into a self-contained virtualenv.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install "grpcio-tools==1.85.1" "protobuf==7.36.2" \
    && /opt/venv/bin/python scripts/gen_protos.py \
    && /opt/venv/bin/pip install .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin estimator \
    && mkdir -p /data \
    && chown estimator /data
COPY --from=build /opt/venv /opt/venv
COPY payer_rules/ /app/payer_rules/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MASSAGE_ESTIMATOR_HOST=0.0.0.0 \
    MASSAGE_ESTIMATOR_PORT=50051 \
    MASSAGE_ESTIMATOR_RULES_DIR=/app/payer_rules \
    MASSAGE_ESTIMATOR_DATABASE_URL=sqlite:////data/massage-estimator.db
WORKDIR /app
USER 10001
VOLUME ["/data"]
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import grpc,os,sys;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;p=os.environ.get('MASSAGE_ESTIMATOR_PORT','50051');s=g.HealthStub(grpc.insecure_channel('127.0.0.1:'+p)).Check(h.HealthCheckRequest(),timeout=2).status;sys.exit(0 if s==h.HealthCheckResponse.SERVING else 1)"]
ENTRYPOINT ["massage-estimator"]
CMD ["serve"]
