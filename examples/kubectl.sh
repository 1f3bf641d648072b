export KUBECONFIG=~/.pocketkube/kubeconfig
kubectl create namespace demo
kubectl apply -n demo -f examples/deployment.yaml && kubectl get deploy -n demo -o wide
