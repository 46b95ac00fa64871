FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY worker worker
COPY workflows workflows
COPY activities activities
COPY schemas schemas
COPY core core
COPY cli cli
COPY migrations migrations
COPY examples examples
RUN pip install --no-cache-dir .
CMD ["tideway", "api"]
