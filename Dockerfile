FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
# Every package pyproject.toml installs (tests/unit/test_compose_file.py checks the list).
COPY api api
COPY worker worker
COPY workflows workflows
COPY activities activities
COPY schemas schemas
COPY language language
COPY core core
COPY cli cli
COPY migrations migrations
COPY examples examples
RUN pip install --no-cache-dir .
# Not root: automations run in the worker. The data folder (TIDEWAY_DATA_DIR, default .data) is
# the only place a process writes; with PostgreSQL and the keys in the environment it stays empty.
RUN useradd --system --uid 10001 --home-dir /app tideway && mkdir -p /app/.data && chown tideway /app/.data
USER tideway
CMD ["tideway", "api"]
