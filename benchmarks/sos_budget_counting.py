"""Run in each container of benchmarks/sos_budget_stack.py before its cold start (a ContainerSetup):
every DynamoDB request the function makes is appended to `<folder>/<pid>.txt` as one line
"budget|other <epoch seconds>" — "budget" when it reads or writes the SOS budget item
(`pk=SOS#BUDGET`, store/budget.py), "other" for the function's own tables' work — and, for the
budget item, a line "budget-<what> <epoch seconds>" after the answer, <what> being `take` (slots
taken), `refused` (a conditional write the item refused), `rate` (a rate write) or `read`; a
refusal also as "budget-refused:<function>:<idle|busy|busy-limit> <epoch seconds>" (which take
form was refused, in which function). One file per
process, one line per request, written before the request: a container killed at the end loses
nothing counted."""

import os
import time


def count_dynamodb_requests(folder: str) -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    record = os.path.join(folder, f"{os.getpid()}.txt")

    def counted(client: BaseClient, operation: str, params: dict) -> dict:
        if client.meta.service_model.service_name == "dynamodb":
            key = params.get("Key") or params.get("Item") or {}
            kind = "budget" if key.get("pk") == {"S": "SOS#BUDGET"} else "other"
            with open(record, "a") as out:
                out.write(f"{kind} {time.time():.3f}\n")
            if kind == "budget":
                return _noting_outcome(record, operation, params, lambda: original(client, operation, params))
        return original(client, operation, params)

    BaseClient._make_api_call = counted


def _noting_outcome(record: str, operation: str, params: dict, call) -> dict:
    what = "read" if operation == "GetItem" else "take" if "tail" in params.get("UpdateExpression", "") else "rate"
    try:
        return call()
    except Exception as exc:  # a refused conditional write is a botocore ClientError
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            what = "refused"
            condition = params.get("ConditionExpression", "")
            form = "idle" if "attribute_not_exists" in condition else "busy-limit" if ":limit" in condition else "busy"
            function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "?")
            with open(record, "a") as out:
                out.write(f"budget-refused:{function}:{form} {time.time():.3f}\n")
        raise
    finally:
        with open(record, "a") as out:
            out.write(f"budget-{what} {time.time():.3f}\n")
