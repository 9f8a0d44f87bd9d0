"""Sets up and reads a moto IAM server the way AWS's own SDK (boto3) does, for
tests/aws_iam.rs. `seed URL ACTIVE_EMAIL OFFBOARDED_EMAIL` creates service users with tags,
policies and one access key each, and prints {user: access key id} (never a
secret); `status URL USER` prints the status of the user's keys."""
import json
import sys

import boto3


def iam(url):
    return boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIASETUPSETUP000001", aws_secret_access_key="setup")


def seed(url, active, offboarded):
    c = iam(url)
    users = {
        "deploy-bot": ("/service/", {"owner": active, "workload": "deploy-bot"}),
        "etl-runner": ("/service/", {"owner": offboarded, "workload": "etl"}),
        "orphan-svc": ("/service/", {}),
        "alice": ("/humans/", {"owner": "alice@acme.test"}),
    }
    for name, (path, tags) in users.items():
        c.create_user(UserName=name, Path=path, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    admin = c.create_policy(PolicyName="AdministratorAccess-Lab", PolicyDocument=doc)["Policy"]["Arn"]
    c.attach_user_policy(UserName="deploy-bot", PolicyArn=admin)
    c.put_user_policy(UserName="etl-runner", PolicyName="s3-read-exports", PolicyDocument=doc)
    keys = {name: c.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for name in users}
    print(json.dumps(keys))


def status(url, user):
    keys = iam(url).list_access_keys(UserName=user)["AccessKeyMetadata"]
    print(json.dumps({k["AccessKeyId"]: k["Status"] for k in keys}))


if __name__ == "__main__":
    {"seed": lambda: seed(sys.argv[2], sys.argv[3], sys.argv[4]), "status": lambda: status(sys.argv[2], sys.argv[3])}[sys.argv[1]]()
